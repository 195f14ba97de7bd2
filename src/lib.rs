//! weak-tracker: counts live objects per key and per the line of code that made them, with
//! Node-API weak references so that the counts are exact right after a garbage collection.

mod generations;
pub mod heap;
mod ledger;
mod sites;
/// The Node-API functions `index.js` calls (through the generated `binding.js`).
pub mod tracker;
mod weak;
/// The Node-API functions behind `why()` and the snapshot command.
pub mod why;

pub use generations::{Canaries, Generations, Sweep, OLD_AFTER};
pub use ledger::{Ledger, LedgerError, Suspect, Tick, TICK_MS};
pub use sites::{SiteId, Sites};
