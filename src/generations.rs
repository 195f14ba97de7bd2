//! Young and full collections told apart, so that the sweep after a young collection looks only
//! at the entries that can still point at young objects, and its cost does not grow with the
//! number of live tracked objects.
//!
//! The promise of V8's this relies on: **an object that has survived [`OLD_AFTER`]` - 1` young
//! collections is in the old generation**, which only a full (mark-compact) collection frees. V8's
//! scavenger promotes an object at its second survived scavenge; MinorMS (`--minor-ms`) promotes
//! a page after at most `--minor-ms-max-page-age` (default 4) young collections; both are well
//! inside the margin.
//!
//! Collections are counted by the young canary of the facade: each sweep that finds it gone is one
//! more *epoch*. Several collections between two sweeps count as one, which only makes entries look
//! younger than they are. An entry tracked during epoch `e` has survived at least `now - e - 1`
//! collections (the collection that ends epoch `e` may come before the entry is tracked, and be
//! seen only by a later sweep), so entries tracked before the start of the `OLD_AFTER`-th newest
//! epoch are old.
//!
//! A full collection is seen through an *old canary*: an object that only a full collection can
//! free. It is held strongly (a *reserve*) until it is old, then held weakly (*armed*); when the
//! armed canary is gone, a full collection has run and the sweep looks at every entry. The reserve
//! is old once it has aged `OLD_AFTER` epochs, or once it has survived a full collection: V8's full
//! collection moves every young survivor to the old generation (the second promise relied on,
//! checked on every Node major with each young collector). So when the armed canary dies, the
//! reserve planted before that collection is armed at once, and a new reserve starts; the entries
//! tracked before that collection are old from then on, whatever their epoch. Only at the start,
//! before a reserve has aged, is no canary armed; then every sweep looks at every entry.
//!
//! Arming a canary that is in fact still young costs full sweeps (it dies at the next young
//! collection), never exactness. If V8 kept tracked objects young for longer than promised, a
//! sweep after a young collection could miss them until the next full collection, which kills the
//! armed canary and brings a full sweep: from then on the counts are exact again.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::collections::VecDeque;

use crate::ledger::Tick;

/// Epochs after which an entry's object is taken to be old.
pub const OLD_AFTER: u32 = 8;

/// What the sweep after a collection must look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Only the entries tracked at or after this tick: no full collection has run since the last
    /// sweep, and older entries point at old objects.
    Young { since: Tick },
    /// Every entry.
    Full,
}

/// The old canaries' own operations: planting a strongly held object, making its reference weak,
/// asking whether a weakly held one is alive, and freeing references. The facade implements them
/// with Node-API references; the tests with a simulated heap.
pub trait Canaries {
    type Strong;
    type Weak;
    type Error;
    fn plant(&mut self) -> Result<Self::Strong, Self::Error>;
    /// Makes a strong reference weak; gives it back unchanged when that fails.
    fn weaken(&mut self, canary: Self::Strong) -> Result<Self::Weak, Self::Strong>;
    fn is_alive(&mut self, canary: &Self::Weak) -> bool;
    fn release_strong(&mut self, canary: Self::Strong);
    fn release_weak(&mut self, canary: Self::Weak);
}

/// Epochs, their start ticks, and the old canaries.
#[derive(Debug)]
pub struct Generations<S, W> {
    epoch: u32,
    /// Start ticks of the newest epochs, oldest first; at most `OLD_AFTER` of them.
    starts: VecDeque<Tick>,
    /// Entries tracked before this tick survived a full collection, so they are old.
    promoted_before: Option<Tick>,
    armed: Option<W>,
    /// The canary that will be armed next, and the epoch it was planted in.
    reserve: Option<(S, u32)>,
}

impl<S, W> Default for Generations<S, W> {
    fn default() -> Self {
        Self {
            epoch: 0,
            starts: VecDeque::with_capacity(OLD_AFTER as usize + 1),
            promoted_before: None,
            armed: None,
            reserve: None,
        }
    }
}

impl<S, W> Generations<S, W> {
    /// A sweep found that at least one collection has run: a new epoch starts at `now`.
    pub fn collection_seen(&mut self, now: Tick) {
        self.epoch = self.epoch.wrapping_add(1);
        self.starts.push_back(now);
        if self.starts.len() > OLD_AFTER as usize {
            self.starts.pop_front();
        }
    }

    /// The tick from which entries may still point at young objects, or `None` while neither
    /// `OLD_AFTER` epochs nor a full collection have been seen (every entry may).
    pub fn young_since(&self) -> Option<Tick> {
        let aged = (self.starts.len() >= OLD_AFTER as usize).then(|| self.starts[0]);
        match (aged, self.promoted_before) {
            // Both lie in the past of the newest start; the later one is the nearer to it.
            (Some(a), Some(p)) => {
                let newest = self.starts.back().copied().unwrap_or(a);
                Some(if newest.wrapping_sub(p) < newest.wrapping_sub(a) {
                    p
                } else {
                    a
                })
            }
            (a, p) => a.or(p),
        }
    }

    /// Whether an old canary is armed (a full collection would be seen).
    pub fn armed(&self) -> bool {
        self.armed.is_some()
    }

    /// What the sweep after the collection just seen must look at. Also keeps the old canaries
    /// going: frees a dead armed canary, arms an aged reserve, plants a new reserve.
    pub fn plan<C>(&mut self, ops: &mut C) -> Result<Sweep, C::Error>
    where
        C: Canaries<Strong = S, Weak = W>,
    {
        let full_seen = match &self.armed {
            Some(canary) => !ops.is_alive(canary),
            None => true,
        };
        // The armed canary died in a full collection that ran after the reserve was planted: the
        // reserve survived it, so it is old, and so is every object that was tracked before.
        let reserve_survived_full = full_seen && self.armed.is_some();
        if reserve_survived_full && self.starts.len() >= 2 {
            // The collection ran during the previous epoch: what was tracked before it began is
            // old now.
            self.promoted_before = Some(self.starts[self.starts.len() - 2]);
        }
        if full_seen {
            if let Some(canary) = self.armed.take() {
                ops.release_weak(canary);
            }
            if let Some((reserve, born)) = self.reserve.take() {
                if reserve_survived_full || self.epoch.wrapping_sub(born) >= OLD_AFTER {
                    match ops.weaken(reserve) {
                        Ok(canary) => self.armed = Some(canary),
                        Err(reserve) => self.reserve = Some((reserve, born)),
                    }
                } else {
                    self.reserve = Some((reserve, born));
                }
            }
        }
        if self.reserve.is_none() {
            self.reserve = Some((ops.plant()?, self.epoch));
        }
        Ok(match self.young_since() {
            Some(since) if !full_seen => Sweep::Young { since },
            _ => Sweep::Full,
        })
    }

    /// Frees the old canaries (nothing is tracked any more, or the tracker goes away). Epochs are
    /// kept: they stay true.
    pub fn release<C>(&mut self, ops: &mut C)
    where
        C: Canaries<Strong = S, Weak = W>,
    {
        if let Some(canary) = self.armed.take() {
            ops.release_weak(canary);
        }
        if let Some((canary, _)) = self.reserve.take() {
            ops.release_strong(canary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use proptest::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A simulated V8 heap: objects age by one at every young collection they survive and are old
    /// from `promote` survivals on (or at once when created old); a young collection frees the
    /// unreachable young objects, a full one every unreachable object.
    #[derive(Debug, Default)]
    struct Heap {
        objects: Vec<Obj>,
        promote: u32,
    }

    #[derive(Debug, Clone, Copy)]
    struct Obj {
        reachable: bool,
        age: u32,
        freed: bool,
    }

    impl Heap {
        fn alloc(&mut self, reachable: bool, age: u32) -> usize {
            self.objects.push(Obj {
                reachable,
                age,
                freed: false,
            });
            self.objects.len() - 1
        }
        fn young_gc(&mut self) {
            let promote = self.promote;
            for o in self.objects.iter_mut().filter(|o| !o.freed) {
                if o.age < promote {
                    if o.reachable {
                        o.age += 1;
                    } else {
                        o.freed = true;
                    }
                }
            }
        }
        fn full_gc(&mut self) {
            let promote = self.promote;
            for o in self.objects.iter_mut().filter(|o| !o.freed) {
                if o.reachable {
                    o.age = o.age.max(promote);
                } else {
                    o.freed = true;
                }
            }
        }
    }

    struct SimCanaries(Rc<RefCell<Heap>>);

    impl Canaries for SimCanaries {
        type Strong = usize;
        type Weak = usize;
        type Error = ();
        fn plant(&mut self) -> Result<usize, ()> {
            Ok(self.0.borrow_mut().alloc(true, 0))
        }
        fn weaken(&mut self, canary: usize) -> Result<usize, usize> {
            self.0.borrow_mut().objects[canary].reachable = false;
            Ok(canary)
        }
        fn is_alive(&mut self, canary: &usize) -> bool {
            !self.0.borrow().objects[*canary].freed
        }
        fn release_strong(&mut self, canary: usize) {
            self.0.borrow_mut().objects[canary].reachable = false;
        }
        fn release_weak(&mut self, _canary: usize) {}
    }

    /// The facade's sweep, on the simulated heap: the young canary gates it, the plan says how far
    /// back it looks. Returns how many entries it asked about.
    struct Tracker {
        heap: Rc<RefCell<Heap>>,
        ledger: Ledger<usize>,
        gens: Generations<usize, usize>,
        young_canary: Option<usize>,
        site: u32,
        now: Tick,
    }

    impl Tracker {
        fn new(promote: u32) -> Self {
            let heap = Rc::new(RefCell::new(Heap {
                objects: Vec::new(),
                promote,
            }));
            let mut ledger = Ledger::default();
            let site = ledger.open_site().unwrap();
            Self {
                heap,
                ledger,
                gens: Generations::default(),
                young_canary: None,
                site,
                now: 0,
            }
        }

        fn track(&mut self, old: bool) -> usize {
            let age = if old { self.heap.borrow().promote } else { 0 };
            let obj = self.heap.borrow_mut().alloc(true, age);
            if self.young_canary.is_none() {
                self.young_canary = Some(self.heap.borrow_mut().alloc(false, 0));
            }
            self.ledger.track(self.site, obj, self.now).unwrap();
            obj
        }

        fn sweep(&mut self) -> usize {
            let seen = match self.young_canary {
                Some(c) => self.heap.borrow().objects[c].freed,
                None => self.ledger.live() > 0,
            };
            if !seen {
                return 0;
            }
            self.gens.collection_seen(self.now);
            let mut ops = SimCanaries(Rc::clone(&self.heap));
            let plan = self.gens.plan(&mut ops).unwrap();
            let start = match plan {
                Sweep::Full => 0,
                Sweep::Young { since } => self.ledger.tracked_since(since, self.now),
            };
            let heap = Rc::clone(&self.heap);
            let asked = self.ledger.live() - start;
            self.ledger
                .sweep_from(start, |&o| !heap.borrow().objects[o].freed, |_| {});
            self.young_canary = (self.ledger.live() > 0).then(|| heap.borrow_mut().alloc(false, 0));
            if self.ledger.live() == 0 {
                self.gens.release(&mut ops);
            }
            asked
        }

        /// One young collection and sweep per epoch until everything tracked so far is older than
        /// the window, and the reserve has been armed at the sweep after.
        fn age_past_window(&mut self) {
            for _ in 0..=OLD_AFTER + 1 {
                self.now += 1;
                self.heap.borrow_mut().young_gc();
                self.sweep();
            }
        }

        /// Tracked objects that the heap has not freed.
        fn unfreed(&self, tracked: &[usize]) -> usize {
            let heap = self.heap.borrow();
            tracked.iter().filter(|&&o| !heap.objects[o].freed).count()
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Track { old: bool },
        Drop(usize),
        Young { sweep: bool },
        Full { sweep: bool },
        Clock(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<bool>().prop_map(|old| Op::Track { old }),
            3 => any::<usize>().prop_map(Op::Drop),
            4 => any::<bool>().prop_map(|sweep| Op::Young { sweep }),
            1 => any::<bool>().prop_map(|sweep| Op::Full { sweep }),
            2 => (0u8..3).prop_map(Op::Clock),
        ]
    }

    fn run(promote: u32, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut t = Tracker::new(promote);
        let mut tracked = Vec::new();
        let mut pending_sweep = false;
        for op in ops {
            match op {
                Op::Track { old } => tracked.push(t.track(old)),
                Op::Drop(i) if !tracked.is_empty() => {
                    let o = tracked[i % tracked.len()];
                    t.heap.borrow_mut().objects[o].reachable = false;
                }
                Op::Drop(_) => {}
                Op::Young { sweep } | Op::Full { sweep } => {
                    if matches!(op, Op::Full { .. }) {
                        t.heap.borrow_mut().full_gc();
                    } else {
                        t.heap.borrow_mut().young_gc();
                    }
                    pending_sweep = !sweep;
                    if sweep {
                        t.sweep();
                    }
                }
                Op::Clock(n) => t.now += Tick::from(n),
            }
            if !pending_sweep {
                prop_assert_eq!(
                    t.ledger.live(),
                    t.unfreed(&tracked),
                    "exact after every sweep"
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// V8's scavenger: promoted at the second survived young collection.
        #[test]
        fn counts_stay_exact_when_objects_are_promoted_after_two_young_collections(ops in proptest::collection::vec(op(), 0..300)) {
            run(2, ops)?;
        }

        /// MinorMS with its default maximum page age of 4, and the margin's limit.
        #[test]
        fn counts_stay_exact_when_objects_are_promoted_after_up_to_seven(ops in proptest::collection::vec(op(), 0..300), promote in 3u32..=7) {
            run(promote, ops)?;
        }
    }

    #[test]
    fn young_sweeps_look_only_at_recent_entries_once_a_canary_is_armed() {
        let mut t = Tracker::new(2);
        let kept: Vec<usize> = (0..1000).map(|_| t.track(false)).collect();
        // Age everything: each young collection is one epoch; after OLD_AFTER of them the reserve
        // is armed at the next sweep.
        t.age_past_window();
        assert!(t.gens.armed());
        t.now += 1;
        let fresh = t.track(false);
        t.heap.borrow_mut().young_gc();
        assert_eq!(t.sweep(), 1, "only the entry tracked since");
        assert_eq!(t.ledger.live(), kept.len() + 1);
        // A full collection is seen through the armed canary: every entry is asked about.
        t.heap.borrow_mut().objects[kept[0]].reachable = false;
        t.heap.borrow_mut().objects[fresh].reachable = false;
        t.heap.borrow_mut().full_gc();
        assert_eq!(t.sweep(), kept.len() + 1);
        assert_eq!(t.ledger.live(), kept.len() - 1);
    }

    #[test]
    fn after_a_full_collection_the_reserve_that_survived_it_is_armed_at_once() {
        let mut t = Tracker::new(2);
        for _ in 0..1000 {
            t.track(false);
        }
        t.age_past_window();
        assert!(t.gens.armed());
        for round in 1..=5 {
            t.heap.borrow_mut().full_gc();
            assert_eq!(
                t.sweep(),
                1000 + round - 1,
                "a full collection: every entry"
            );
            assert!(t.gens.armed(), "re-armed right after the full collection");
            t.now += 1;
            t.track(false);
            t.heap.borrow_mut().young_gc();
            assert!(
                t.sweep() <= round,
                "the next young sweep looks only at what is new"
            );
        }
    }

    #[test]
    fn without_an_armed_canary_every_sweep_is_full() {
        let mut t = Tracker::new(2);
        for _ in 0..10 {
            t.track(false);
        }
        t.heap.borrow_mut().young_gc();
        assert_eq!(t.sweep(), 10);
        assert!(!t.gens.armed());
    }

    #[test]
    fn objects_kept_young_longer_than_promised_are_counted_at_the_next_full_collection() {
        // A V8 set-up beyond the margin (e.g. --minor-ms-max-page-age=100).
        let mut t = Tracker::new(100);
        let objs: Vec<usize> = (0..50).map(|_| t.track(false)).collect();
        t.age_past_window();
        for &o in &objs {
            t.heap.borrow_mut().objects[o].reachable = false;
        }
        t.heap.borrow_mut().young_gc();
        t.sweep();
        t.heap.borrow_mut().full_gc();
        t.sweep();
        assert_eq!(t.ledger.live(), 0);
    }
}
