#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The cross-thread table: what every tracker shows, and the counts behind it.
//!
//! Each open call site of a tracker has a [`SiteCell`]: its names, and its counts as atomics that
//! only the tracker's own thread writes. `track()` stores the new counts before it returns, so a
//! reader in any thread that learns of the call afterwards (a message, a lock, an atomic) counts
//! the object: nothing waits for the end of the tracker's turn. Frees are found by the tracker's
//! sweeps, and show once that thread has swept. Opening and releasing a site (once per line of
//! code, not per object) take the tracker's lock; a reader holds it while it copies the counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::Name;
use crate::sites::{SiteId, Sites};

/// One call site's names and counts, as every thread reads them.
#[derive(Debug)]
pub struct SiteCell {
    key: Arc<Name>,
    origin: Arc<Name>,
    live: AtomicU64,
    tracked: AtomicU64,
    collected: AtomicU64,
}

impl SiteCell {
    fn new(key: Arc<Name>, origin: Name) -> Self {
        Self {
            key,
            origin: Arc::new(origin),
            live: AtomicU64::new(0),
            tracked: AtomicU64::new(0),
            collected: AtomicU64::new(0),
        }
    }

    /// Copies the counts of site `id`. Relaxed is enough: whatever makes a reader learn of the
    /// call (a message, a lock) orders this store before the reader's load.
    fn store(&self, sites: &Sites, id: SiteId) {
        let (tracked, collected) = sites.totals(id);
        self.live
            .store(u64::from(sites.live(id)), Ordering::Relaxed);
        self.tracked.store(tracked, Ordering::Relaxed);
        self.collected.store(collected, Ordering::Relaxed);
    }
}

/// Live objects of one (key, origin) in one tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: Arc<Name>,
    pub origin: Arc<Name>,
    pub live: u64,
}

/// Objects tracked and found collected under one key in one tracker, since the key was first
/// tracked (a key's totals start again once none of its objects is alive or pending). A key may
/// have several of these in one view: they add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub key: Arc<Name>,
    pub tracked: u64,
    pub collected: u64,
}

/// What one tracker shows, as read at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub thread: u32,
    /// The tracker's number among the live trackers of its thread: the smallest free one when it
    /// was made, so that trackers made over time reuse numbers.
    pub slot: u32,
    pub sample: f64,
    pub rows: Vec<Row>,
    pub totals: Vec<Totals>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Open sites by id.
    sites: Vec<Option<Arc<SiteCell>>>,
    /// Per key with open sites: the totals of its sites that were released.
    released: HashMap<Arc<Name>, (u64, u64)>,
}

/// One tracker's entry in the table.
#[derive(Debug)]
pub struct Shown {
    thread: u32,
    slot: u32,
    sample: f64,
    shared: Mutex<Shared>,
}

impl Shown {
    /// The counts as of now. Rows only for sites with live objects; totals for every open site.
    pub fn view(&self) -> View {
        let shared = self.shared.lock();
        let mut rows = Vec::new();
        let mut totals = Vec::with_capacity(shared.sites.len() + shared.released.len());
        for cell in shared.sites.iter().flatten() {
            let live = cell.live.load(Ordering::Relaxed);
            if live > 0 {
                rows.push(Row {
                    key: Arc::clone(&cell.key),
                    origin: Arc::clone(&cell.origin),
                    live,
                });
            }
            totals.push(Totals {
                key: Arc::clone(&cell.key),
                tracked: cell.tracked.load(Ordering::Relaxed),
                collected: cell.collected.load(Ordering::Relaxed),
            });
        }
        for (key, &(tracked, collected)) in &shared.released {
            totals.push(Totals {
                key: Arc::clone(key),
                tracked,
                collected,
            });
        }
        View {
            thread: self.thread,
            slot: self.slot,
            sample: self.sample,
            rows,
            totals,
        }
    }
}

/// A tracker's side of its entry: its names, and the cells it writes.
#[derive(Debug)]
pub struct Labels {
    shown: Arc<Shown>,
    /// The cells by site id, the same as in `shown` (kept here too so that `track` takes no lock).
    sites: Vec<Option<Arc<SiteCell>>>,
    /// Open sites per key: a key is stored once per tracker however many lines track under it.
    keys: HashMap<Arc<Name>, u32>,
}

impl Labels {
    fn new(shown: Arc<Shown>) -> Self {
        Self {
            shown,
            sites: Vec::new(),
            keys: HashMap::new(),
        }
    }

    fn insert(&mut self, id: SiteId, key: Arc<Name>, origin: Name) {
        *self.keys.entry(Arc::clone(&key)).or_default() += 1;
        let cell = Arc::new(SiteCell::new(key, origin));
        let i = id as usize;
        if self.sites.len() <= i {
            self.sites.resize(i + 1, None);
        }
        self.sites[i] = Some(Arc::clone(&cell));
        let mut shared = self.shown.shared.lock();
        if shared.sites.len() <= i {
            shared.sites.resize(i + 1, None);
        }
        shared.sites[i] = Some(cell);
    }

    /// Site `id` was opened for `(key, origin)`.
    pub fn open(&mut self, id: SiteId, key: Name, origin: Name) {
        let key = match self.keys.get_key_value(&key) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::new(key),
        };
        self.insert(id, key, origin);
    }

    /// Site `id` was opened for the key of the open site `same_key_as` and `origin`: the key is
    /// not copied again. `false` when `same_key_as` is not open.
    pub fn open_with_key_of(&mut self, id: SiteId, same_key_as: SiteId, origin: Name) -> bool {
        let Some(cell) = self.cell(same_key_as) else {
            return false;
        };
        let key = Arc::clone(&cell.key);
        self.insert(id, key, origin);
        true
    }

    fn cell(&self, id: SiteId) -> Option<&Arc<SiteCell>> {
        self.sites.get(id as usize).and_then(Option::as_ref)
    }

    /// An object was tracked under site `id`: every thread counts it from now on.
    pub fn tracked(&self, sites: &Sites, id: SiteId) {
        if let Some(cell) = self.cell(id) {
            cell.store(sites, id);
        }
    }

    /// A sweep found collected objects: every thread sees the new counts.
    pub fn swept(&self, sites: &Sites) {
        for (id, cell) in self.sites.iter().enumerate() {
            if let Some(cell) = cell {
                cell.store(sites, id as SiteId);
            }
        }
    }

    /// Site `id` was released with these totals; they stay counted under its key while the key
    /// has other sites.
    pub fn release(&mut self, id: SiteId, tracked: u64, collected: u64) {
        let Some(cell) = self.sites.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        let key = &cell.key;
        let last = match self.keys.get_mut(key) {
            Some(open) if *open > 1 => {
                *open -= 1;
                false
            }
            _ => {
                self.keys.remove(key);
                true
            }
        };
        let mut shared = self.shown.shared.lock();
        if let Some(slot) = shared.sites.get_mut(id as usize) {
            *slot = None;
        }
        if last {
            shared.released.remove(key);
        } else {
            let entry = shared.released.entry(Arc::clone(key)).or_default();
            entry.0 += tracked;
            entry.1 += collected;
        }
    }
}

/// Every tracker's entry, by tracker id.
#[derive(Debug)]
pub struct Table {
    entries: Mutex<BTreeMap<u64, Arc<Shown>>>,
    next: AtomicU64,
}

/// The one table of the process.
pub static TABLE: Table = Table::new();

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    pub const fn new() -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// A new tracker of thread `thread`: its id in the table, and its labels, with nothing open.
    pub fn register(&self, thread: u32, sample: f64) -> (u64, Labels) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock();
        let mut taken: Vec<u32> = entries
            .values()
            .filter(|shown| shown.thread == thread)
            .map(|shown| shown.slot)
            .collect();
        taken.sort_unstable();
        let slot = taken
            .iter()
            .zip(0u32..)
            .find(|(taken, free)| *taken != free)
            .map_or(taken.len() as u32, |(_, free)| free);
        let shown = Arc::new(Shown {
            thread,
            slot,
            sample,
            shared: Mutex::new(Shared::default()),
        });
        entries.insert(id, Arc::clone(&shown));
        (id, Labels::new(shown))
    }

    /// Tracker `id` is gone (collected, or its thread ended).
    pub fn remove(&self, id: u64) {
        self.entries.lock().remove(&id);
    }

    /// Every tracker's counts as of now, by tracker id. The table's lock is held only to copy
    /// the entries; each tracker's lock only while its counts are read.
    pub fn views(&self) -> Vec<View> {
        let entries: Vec<Arc<Shown>> = self.entries.lock().values().cloned().collect();
        entries.iter().map(|shown| shown.view()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::Utf8(s.into())
    }

    fn key_totals(view: &View) -> HashMap<Arc<Name>, (u64, u64)> {
        let mut totals = HashMap::new();
        for t in &view.totals {
            let entry: &mut (u64, u64) = totals.entry(Arc::clone(&t.key)).or_default();
            entry.0 += t.tracked;
            entry.1 += t.collected;
        }
        totals
    }

    #[test]
    fn a_tracked_object_shows_at_once_and_a_free_after_the_sweep() {
        let table = Table::new();
        let (id, mut labels) = table.register(3, 1.0);
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        labels.open(a, name("k"), name("at a"));
        sites.add_live(a).unwrap();
        labels.tracked(&sites, a);
        let view = &table.views()[0];
        assert_eq!((view.thread, view.slot), (3, 0));
        assert_eq!(view.rows[0].live, 1);
        sites.collect_one(a);
        assert_eq!(table.views()[0].rows[0].live, 1, "not swept yet");
        labels.swept(&sites);
        let view = &table.views()[0];
        assert!(view.rows.is_empty());
        assert_eq!(key_totals(view)[&name("k")], (1, 1));
        table.remove(id);
        assert!(table.views().is_empty());
    }

    #[test]
    fn totals_of_released_sites_stay_under_their_key_until_its_last_site_goes() {
        let table = Table::new();
        let (_, mut labels) = table.register(0, 1.0);
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        let b = sites.open().unwrap();
        labels.open(a, name("k"), name("at a"));
        assert!(labels.open_with_key_of(b, a, name("at b")));
        for _ in 0..2 {
            sites.add_live(a).unwrap();
        }
        sites.add_live(b).unwrap();
        labels.tracked(&sites, a);
        labels.tracked(&sites, b);
        sites.collect_one(b);
        sites.deliver_one(b);
        labels.swept(&sites);
        for released in sites.release_idle() {
            labels.release(released.id, released.tracked, released.collected);
        }
        let view = &table.views()[0];
        assert_eq!(view.rows.len(), 1);
        assert_eq!(key_totals(view)[&name("k")], (3, 1));
        for _ in 0..2 {
            sites.collect_one(a);
            sites.deliver_one(a);
        }
        labels.swept(&sites);
        for released in sites.release_idle() {
            labels.release(released.id, released.tracked, released.collected);
        }
        assert!(table.views()[0].totals.is_empty());
        assert!(labels.keys.is_empty());
    }

    #[test]
    fn a_site_can_share_the_key_of_an_open_site_without_a_copy() {
        let table = Table::new();
        let (_, mut labels) = table.register(0, 1.0);
        labels.open(0, name(&"x".repeat(1000)), name("at a"));
        for id in 1..20 {
            if id % 2 == 0 {
                assert!(labels.open_with_key_of(id, 0, name(&format!("at {id}"))));
            } else {
                labels.open(id, name(&"x".repeat(1000)), name(&format!("at {id}")));
            }
        }
        assert!(
            !labels.open_with_key_of(30, 99, name("at c")),
            "an unknown site"
        );
        let keys: Vec<_> = labels
            .sites
            .iter()
            .flatten()
            .map(|c| Arc::as_ptr(&c.key))
            .collect();
        assert_eq!(keys.len(), 20);
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn trackers_of_a_thread_reuse_the_smallest_free_slot() {
        let table = Table::new();
        let (a, _) = table.register(1, 1.0);
        let (b, _) = table.register(1, 1.0);
        let (e, _) = table.register(2, 1.0);
        table.remove(a);
        let (c, _) = table.register(1, 0.5);
        let (d, _) = table.register(1, 0.5);
        let slots: Vec<_> = table.views().iter().map(|v| (v.thread, v.slot)).collect();
        assert_eq!(slots, vec![(1, 1), (2, 0), (1, 0), (1, 2)]);
        for id in [b, c, d, e] {
            table.remove(id);
        }
        for _ in 0..100 {
            let (id, _) = table.register(1, 1.0);
            table.remove(id);
        }
        assert!(table.views().is_empty());
        let (_, _) = table.register(1, 1.0);
        assert_eq!(table.views()[0].slot, 0);
    }

    #[test]
    fn threads_track_and_read_at_once_without_losing_a_count() {
        let table = Table::new();
        std::thread::scope(|scope| {
            for t in 0..8u32 {
                let table = &table;
                scope.spawn(move || {
                    let (_, mut labels) = table.register(t, 1.0);
                    let mut sites = Sites::default();
                    let a = sites.open().unwrap();
                    labels.open(a, name("k"), name("o"));
                    for _ in 0..200 {
                        sites.add_live(a).unwrap();
                        labels.tracked(&sites, a);
                        // Every count this thread has stored is seen by its next read.
                        let seen: u64 = table
                            .views()
                            .iter()
                            .filter(|v| v.thread == t)
                            .flat_map(|v| &v.rows)
                            .map(|r| r.live)
                            .sum();
                        assert_eq!(seen, u64::from(sites.live(a)));
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..200 {
                    let _ = super::super::openmetrics(&table.views());
                }
            });
        });
        let views = table.views();
        assert_eq!(views.len(), 8);
        assert_eq!(
            views
                .iter()
                .flat_map(|v| &v.rows)
                .map(|r| r.live)
                .sum::<u64>(),
            1600
        );
    }
}
