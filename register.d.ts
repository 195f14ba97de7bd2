// `node --require weak-tracker/register app.js` (or `--import`): a side-effect-only entry that
// starts sampling and watching as its environment variables say. It exports nothing.
export {}
