'use strict'

// `node --require weak-tracker/register app.js` (or `--import`, or NODE_OPTIONS): see lib/register.js.
require('./lib/register.js').register()
