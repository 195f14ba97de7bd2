//! The books of one tracker: which handles are watched, under which site, and what was collected.
//!
//! Generic over the handle `H` so that it runs without Node-API: the facade stores weak
//! references, the tests store plain values with a liveness flag.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use crate::sites::{Released, SiteId, Sites};

/// Reasons a call into the ledger is refused. All of them are caller mistakes that the JavaScript
/// front prevents; the facade turns them into errors rather than panics.
#[derive(Debug, PartialEq, Eq)]
pub enum LedgerError {
    /// The site id was never opened, or was released.
    UnknownSite(SiteId),
    /// Every one of the 2^32 site ids is open.
    TooManySites,
    /// The site already has 2^32 - 1 live objects.
    SiteFull(SiteId),
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownSite(id) => write!(f, "unknown call site {id}"),
            Self::TooManySites => write!(f, "too many call sites (2^32)"),
            Self::SiteFull(id) => write!(f, "call site {id} has 2^32 - 1 live objects"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// A point in time in the tracker's own clock: hundredths of a second since the tracker was made.
/// Four bytes fill the padding beside a site id in an entry, so recording when an object was tracked
/// costs no memory; the range (497 days) is compared with wrapping arithmetic.
pub type Tick = u32;

/// Milliseconds per [`Tick`].
pub const TICK_MS: u32 = 10;

#[derive(Debug)]
struct Entry<H> {
    handle: H,
    site: SiteId,
    born: Tick,
}

/// Live objects of one site that are older than asked, from [`Ledger::suspects`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspect {
    pub site: SiteId,
    /// How many of the site's live objects are that old.
    pub count: u32,
    /// Age of the oldest of them, in ticks.
    pub oldest: Tick,
}

/// Tracked handles in tracking order, their sites, and collections not yet handed out.
#[derive(Debug)]
pub struct Ledger<H> {
    sites: Sites,
    entries: Vec<Entry<H>>,
    pending: Vec<SiteId>,
}

impl<H> Default for Ledger<H> {
    fn default() -> Self {
        Self {
            sites: Sites::default(),
            entries: Vec::new(),
            pending: Vec::new(),
        }
    }
}

impl<H> Ledger<H> {
    /// The call sites, for names and counts.
    pub fn sites(&self) -> &Sites {
        &self.sites
    }

    /// A new site to track under; see [`Sites::open`].
    pub fn open_site(&mut self) -> Result<SiteId, LedgerError> {
        self.sites.open().ok_or(LedgerError::TooManySites)
    }

    /// Whether [`Ledger::track`] under `site` would succeed: the caller can check before it makes
    /// a handle.
    pub fn accepts(&self, site: SiteId) -> Result<(), LedgerError> {
        if !self.sites.contains(site) {
            return Err(LedgerError::UnknownSite(site));
        }
        if self.sites.live(site) == u32::MAX {
            return Err(LedgerError::SiteFull(site));
        }
        Ok(())
    }

    /// Starts watching `handle` under `site`, tracked at time `born`. Each call counts once, even
    /// for a handle to an object that is already watched.
    pub fn track(&mut self, site: SiteId, handle: H, born: Tick) -> Result<(), LedgerError> {
        if !self.sites.contains(site) {
            return Err(LedgerError::UnknownSite(site));
        }
        self.sites
            .add_live(site)
            .ok_or(LedgerError::SiteFull(site))?;
        self.entries.push(Entry { handle, site, born });
        Ok(())
    }

    /// Per site, the watched handles tracked at least `min_age` ticks before `now`, and the age of
    /// the oldest; sites in order of their oldest handle. Handles are kept in tracking order, so
    /// this reads only the old ones.
    pub fn suspects(&self, now: Tick, min_age: Tick) -> Vec<Suspect> {
        let mut found: Vec<Suspect> = Vec::new();
        let mut index_of = std::collections::HashMap::new();
        for entry in &self.entries {
            let age = now.wrapping_sub(entry.born);
            if age < min_age {
                break;
            }
            let i = *index_of.entry(entry.site).or_insert_with(|| {
                found.push(Suspect {
                    site: entry.site,
                    count: 0,
                    oldest: age,
                });
                found.len() - 1
            });
            found[i].count += 1;
        }
        found
    }

    /// Up to `limit` watched handles of `site` for which `alive` holds, oldest first.
    pub fn sample(&self, site: SiteId, limit: usize, mut alive: impl FnMut(&H) -> bool) -> Vec<&H> {
        self.entries
            .iter()
            .filter(|e| e.site == site && alive(&e.handle))
            .take(limit)
            .map(|e| &e.handle)
            .collect()
    }

    /// Number of watched handles not yet seen collected.
    pub fn live(&self) -> usize {
        self.entries.len()
    }

    /// Asks `alive` about every watched handle; each one that is not alive leaves the books, is
    /// given to `release`, and its collection becomes pending. Returns how many were collected.
    pub fn sweep(&mut self, alive: impl FnMut(&H) -> bool, release: impl FnMut(H)) -> usize {
        self.sweep_from(0, alive, release)
    }

    /// [`Ledger::sweep`] for the handles from index `start` on (in tracking order), leaving the
    /// older ones unasked.
    pub fn sweep_from(
        &mut self,
        start: usize,
        mut alive: impl FnMut(&H) -> bool,
        mut release: impl FnMut(H),
    ) -> usize {
        let before = self.entries.len();
        let start = start.min(before);
        let mut kept = start;
        // A hand-written `retain` that can move the dead handle out to `release`.
        for i in start..before {
            if alive(&self.entries[i].handle) {
                self.entries.swap(kept, i);
                kept += 1;
            }
        }
        for entry in self.entries.drain(kept..) {
            self.sites.collect_one(entry.site);
            self.pending.push(entry.site);
            release(entry.handle);
        }
        before - kept
    }

    /// The index of the first handle tracked at or after `since`, `now` being the current tick
    /// (ticks wrap; handles are in tracking order, so this is a binary search).
    pub fn tracked_since(&self, since: Tick, now: Tick) -> usize {
        let limit = now.wrapping_sub(since);
        self.entries
            .partition_point(|e| now.wrapping_sub(e.born) > limit)
    }

    /// Collections counted since the last call, in the order they were found; each is handed out
    /// exactly once.
    pub fn drain(&mut self) -> Vec<SiteId> {
        let pending = std::mem::take(&mut self.pending);
        for &site in &pending {
            self.sites.deliver_one(site);
        }
        pending
    }

    /// Releases sites with nothing live and nothing pending; see [`Sites::release_idle`].
    pub fn release_idle(&mut self) -> Vec<Released> {
        self.sites.release_idle()
    }

    /// Gives every watched handle to `release` and starts over empty, without counting
    /// collections: for a tracker that is going away.
    pub fn clear(&mut self, mut release: impl FnMut(H)) {
        for entry in std::mem::take(self).entries {
            release(entry.handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::rc::Rc;

    /// A stand-in for a weak reference: the test decides when its object dies.
    #[derive(Debug, Clone)]
    struct Handle(Rc<Cell<bool>>);

    impl Handle {
        fn new() -> Self {
            Self(Rc::new(Cell::new(true)))
        }
        fn alive(&self) -> bool {
            self.0.get()
        }
        fn kill(&self) {
            self.0.set(false);
        }
    }

    fn sweep(ledger: &mut Ledger<Handle>) -> (usize, usize) {
        let mut released = 0;
        let collected = ledger.sweep(Handle::alive, |_| released += 1);
        (collected, released)
    }

    #[test]
    fn tracking_counts_per_site_and_the_same_handle_twice_counts_twice() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        let b = ledger.open_site().unwrap();
        let h = Handle::new();
        ledger.track(a, h.clone(), 0).unwrap();
        ledger.track(a, h.clone(), 0).unwrap();
        ledger.track(b, Handle::new(), 0).unwrap();
        assert_eq!(ledger.sites().live(a), 2);
        assert_eq!(ledger.sites().live(b), 1);
        assert_eq!(ledger.live(), 3);
        h.kill();
        assert_eq!(sweep(&mut ledger), (2, 2));
        assert_eq!(ledger.sites().live(a), 0);
        assert_eq!(ledger.drain(), vec![a, a]);
        assert_eq!(ledger.drain(), Vec::<SiteId>::new());
    }

    #[test]
    fn an_unknown_site_is_refused_and_records_nothing() {
        let mut ledger = Ledger::default();
        assert_eq!(
            ledger.track(7, Handle::new(), 0),
            Err(LedgerError::UnknownSite(7))
        );
        assert_eq!(ledger.live(), 0);
    }

    #[test]
    fn a_sweep_keeps_survivors_in_tracking_order() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        let handles: Vec<_> = (0..6).map(|_| Handle::new()).collect();
        for h in &handles {
            ledger.track(a, h.clone(), 0).unwrap();
        }
        handles[1].kill();
        handles[4].kill();
        sweep(&mut ledger);
        let order: Vec<_> = ledger
            .entries
            .iter()
            .map(|e| Rc::as_ptr(&e.handle.0))
            .collect();
        let expected: Vec<_> = [0, 2, 3, 5]
            .iter()
            .map(|&i| Rc::as_ptr(&handles[i].0))
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn tracked_since_finds_the_first_handle_of_a_tick_and_sweep_from_asks_only_from_there() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        let handles: Vec<_> = (0..6).map(|_| Handle::new()).collect();
        for (h, born) in handles.iter().zip([u32::MAX - 1, u32::MAX, 0, 0, 3, 7]) {
            ledger.track(a, h.clone(), born).unwrap();
        }
        assert_eq!(ledger.tracked_since(u32::MAX - 1, 8), 0);
        assert_eq!(ledger.tracked_since(0, 8), 2, "across the wrap");
        assert_eq!(ledger.tracked_since(1, 8), 4);
        assert_eq!(ledger.tracked_since(8, 8), 6);
        handles[0].kill();
        handles[3].kill();
        handles[5].kill();
        let mut asked = 0;
        let collected = ledger.sweep_from(
            2,
            |h| {
                asked += 1;
                h.alive()
            },
            |_| {},
        );
        assert_eq!(
            (asked, collected),
            (4, 2),
            "handle 0 is older than the start: not asked"
        );
        assert_eq!(ledger.live(), 4);
        assert_eq!(ledger.tracked_since(0, 8), 2, "order is kept");
    }

    #[test]
    fn sample_gives_live_handles_of_one_site_oldest_first() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        let b = ledger.open_site().unwrap();
        let handles: Vec<_> = (0..6).map(|_| Handle::new()).collect();
        for (i, h) in handles.iter().enumerate() {
            ledger
                .track(if i % 2 == 0 { a } else { b }, h.clone(), 0)
                .unwrap();
        }
        handles[2].kill();
        let got: Vec<_> = ledger
            .sample(a, 5, Handle::alive)
            .into_iter()
            .map(|h| Rc::as_ptr(&h.0))
            .collect();
        assert_eq!(got, [Rc::as_ptr(&handles[0].0), Rc::as_ptr(&handles[4].0)]);
        assert_eq!(ledger.sample(b, 1, Handle::alive).len(), 1);
    }

    #[test]
    fn clear_releases_every_handle_and_counts_nothing_as_collected() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        ledger.track(a, Handle::new(), 0).unwrap();
        ledger.track(a, Handle::new(), 0).unwrap();
        let mut released = 0;
        ledger.clear(|_| released += 1);
        assert_eq!(released, 2);
        assert_eq!(ledger.live(), 0);
        assert!(ledger.drain().is_empty());
    }

    #[test]
    fn suspects_are_the_old_live_handles_per_site_oldest_first() {
        let mut ledger = Ledger::default();
        let a = ledger.open_site().unwrap();
        let b = ledger.open_site().unwrap();
        let young = Handle::new();
        let dead = Handle::new();
        ledger.track(b, Handle::new(), 0).unwrap();
        ledger.track(a, Handle::new(), 10).unwrap();
        ledger.track(a, dead.clone(), 20).unwrap();
        ledger.track(b, Handle::new(), 30).unwrap();
        ledger.track(a, young, 95).unwrap();
        dead.kill();
        sweep(&mut ledger);
        assert_eq!(
            ledger.suspects(100, 50),
            vec![
                Suspect {
                    site: b,
                    count: 2,
                    oldest: 100
                },
                Suspect {
                    site: a,
                    count: 1,
                    oldest: 90
                },
            ]
        );
        assert_eq!(ledger.suspects(100, 101), vec![]);
        assert_eq!(
            ledger.suspects(100, 0).len(),
            2,
            "all live handles are at least 0 old"
        );
        // The clock wraps after 2^32 ticks; ages stay right across it.
        let mut wrapped = Ledger::default();
        let c = wrapped.open_site().unwrap();
        wrapped.track(c, Handle::new(), u32::MAX - 5).unwrap();
        assert_eq!(
            wrapped.suspects(4, 3),
            vec![Suspect {
                site: c,
                count: 1,
                oldest: 10
            }]
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Track { key: u8, origin: u8 },
        Kill(usize),
        Sweep,
        Drain,
        Release,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..3, 0u8..3).prop_map(|(key, origin)| Op::Track { key, origin }),
            3 => any::<usize>().prop_map(Op::Kill),
            2 => Just(Op::Sweep),
            1 => Just(Op::Drain),
            1 => Just(Op::Release),
        ]
    }

    proptest! {
        /// The ledger against a plain model: a list of (name, alive) per tracked object.
        #[test]
        fn counts_events_and_releases_agree_with_a_plain_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut ledger = Ledger::default();
            // What JavaScript keeps: each name's open site, and each site's name.
            let mut ids: HashMap<(String, String), SiteId> = HashMap::new();
            let mut names: HashMap<SiteId, (String, String)> = HashMap::new();
            // Model: every tracked object with its name and handle; collected-but-undelivered names.
            let mut objects: Vec<((String, String), Handle, bool)> = Vec::new();
            let mut pending: HashMap<(String, String), usize> = HashMap::new();
            let mut released_total = 0usize;
            let mut births: Vec<Tick> = Vec::new();
            let mut clock: Tick = 0;
            for op in ops {
                clock += 1;
                match op {
                    Op::Track { key, origin } => {
                        let name = (format!("k{key}"), format!("at o{origin}"));
                        let site = match ids.get(&name) {
                            Some(&site) => site,
                            None => {
                                let site = ledger.open_site().unwrap();
                                prop_assert!(!names.contains_key(&site), "an open id is never handed out twice");
                                ids.insert(name.clone(), site);
                                names.insert(site, name.clone());
                                site
                            }
                        };
                        let handle = Handle::new();
                        ledger.track(site, handle.clone(), clock).unwrap();
                        objects.push((name, handle, false));
                        births.push(clock);
                    }
                    Op::Kill(i) => {
                        if !objects.is_empty() {
                            let i = i % objects.len();
                            objects[i].1.kill();
                        }
                    }
                    Op::Sweep => {
                        let expected = objects.iter().filter(|o| !o.1.alive() && !o.2).count();
                        let (collected, released) = sweep(&mut ledger);
                        prop_assert_eq!(collected, expected);
                        prop_assert_eq!(released, expected);
                        for o in objects.iter_mut().filter(|o| !o.1.alive() && !o.2) {
                            o.2 = true;
                            *pending.entry(o.0.clone()).or_default() += 1;
                        }
                    }
                    Op::Drain => {
                        let mut got: HashMap<(String, String), usize> = HashMap::new();
                        for site in ledger.drain() {
                            prop_assert!(ledger.sites().contains(site), "pending sites stay open");
                            *got.entry(names[&site].clone()).or_default() += 1;
                        }
                        prop_assert_eq!(got, std::mem::take(&mut pending));
                    }
                    Op::Release => {
                        for site in ledger.release_idle().into_iter().map(|r| r.id) {
                            prop_assert!(!ledger.sites().contains(site));
                            let name = names.remove(&site).expect("released sites were open");
                            ids.remove(&name);
                            released_total += 1;
                        }
                    }
                }
                // Live counts per name equal the model's objects not yet swept.
                let mut model: HashMap<(String, String), u32> = HashMap::new();
                for o in objects.iter().filter(|o| !o.2) {
                    *model.entry(o.0.clone()).or_default() += 1;
                }
                let mut books: HashMap<(String, String), u32> = HashMap::new();
                for site in ledger.sites().live_ids() {
                    books.insert(names[&site].clone(), ledger.sites().live(site));
                }
                prop_assert_eq!(books, model);
                // Suspects: per name, the unswept objects at least 5 ticks old and the oldest age.
                let mut old: HashMap<(String, String), (u32, Tick)> = HashMap::new();
                for (o, &born) in objects.iter().zip(&births).filter(|(o, _)| !o.2) {
                    let age = clock - born;
                    if age >= 5 {
                        let e = old.entry(o.0.clone()).or_insert((0, age));
                        e.0 += 1;
                        e.1 = e.1.max(age);
                    }
                }
                let mut suspects: HashMap<(String, String), (u32, Tick)> = HashMap::new();
                for s in ledger.suspects(clock, 5) {
                    suspects.insert(names[&s.site].clone(), (s.count, s.oldest));
                }
                prop_assert_eq!(suspects, old);
                prop_assert!(ledger.sites().capacity() <= 9, "at most 9 distinct names are ever live at once");
            }
            let _ = released_total;
        }
    }
}
