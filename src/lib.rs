//! weak-tracker: counts live objects per key and per the line of code that made them, with
//! Node-API weak references so that the counts are exact right after a garbage collection.

/// The Node-API functions of the `top` and `growth` commands.
pub mod analysis;
/// The Node-API functions of `weak-tracker attach --snapshots`: growth over streamed snapshots.
pub mod attach;
mod generations;
pub mod heap;
mod ledger;
pub mod process;
mod sites;
/// The Node-API functions `index.js` calls (through the generated `binding.js`).
pub mod tracker;
/// The Node-API functions of the process-wide view and the metrics.
pub mod view;
mod weak;
/// The Node-API functions behind `why()` and the snapshot command.
pub mod why;

pub use generations::{Canaries, Generations, Sweep, OLD_AFTER};
pub use ledger::{Ledger, LedgerError, Suspect, Tick, TICK_MS};
pub use sites::{Released, SiteId, Sites};
