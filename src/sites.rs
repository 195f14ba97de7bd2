//! Call sites: the live and pending counts of each `(key, origin)` pair.
//!
//! The names themselves stay in JavaScript, which maps each pair to a site id: JavaScript strings
//! can hold lone surrogates that UTF-8 cannot (two keys would become one here), and a key shared
//! by many lines would be copied once per line. Native code only counts.
//!
//! Reachable from JavaScript: limits are `None`s that the facade turns into errors, never panics.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

/// Index of a `(key, origin)` pair. Small and dense so that JavaScript can cache it and pass it
/// back on every `track` instead of two strings.
pub type SiteId = u32;

#[derive(Debug, Default)]
struct Site {
    /// Tracked objects of this site that have not been seen collected.
    live: u32,
    /// Collections already counted but whose `'gc'` event has not been handed out.
    pending: u32,
    /// Objects ever tracked under the site, and found collected.
    tracked: u64,
    collected: u64,
}

/// A site that [`Sites::release_idle`] released, with its totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub id: SiteId,
    pub tracked: u64,
    pub collected: u64,
}

/// The table of sites. A site whose objects are all collected and whose events were all handed out
/// can be released, so that a program that tracks under ever new keys keeps a bounded table.
#[derive(Debug, Default)]
pub struct Sites {
    slots: Vec<Option<Site>>,
    free: Vec<SiteId>,
    /// Sites whose live count reached zero since the last [`Sites::release_idle`].
    emptied: Vec<SiteId>,
}

impl Sites {
    /// A new site with nothing live, reusing a released id where there is one; `None` when all
    /// 2^32 ids are open.
    pub fn open(&mut self) -> Option<SiteId> {
        if let Some(id) = self.free.pop() {
            if let Some(slot) = self.slots.get_mut(id as usize) {
                *slot = Some(Site::default());
                return Some(id);
            }
        }
        let id = SiteId::try_from(self.slots.len()).ok()?;
        self.slots.push(Some(Site::default()));
        Some(id)
    }

    /// Whether `id` names an open site.
    pub fn contains(&self, id: SiteId) -> bool {
        self.site(id).is_some()
    }

    /// How many tracked objects of `id` are live (0 for an unknown id).
    pub fn live(&self, id: SiteId) -> u32 {
        self.site(id).map_or(0, |s| s.live)
    }

    /// Objects ever tracked under `id`, and found collected (0 for an unknown id).
    pub fn totals(&self, id: SiteId) -> (u64, u64) {
        self.site(id).map_or((0, 0), |s| (s.tracked, s.collected))
    }

    /// One past the largest id ever handed out: the length of a dense table of counts.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Live counts indexed by id; released and unused ids count 0.
    pub fn live_counts(&self) -> Vec<u32> {
        self.slots
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| s.live))
            .collect()
    }

    /// Open ids with at least one live object, in id order.
    pub fn live_ids(&self) -> impl Iterator<Item = SiteId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s.live > 0))
            .map(|(id, _)| id as SiteId)
    }

    /// Counts one more live object of `id`; `None` (and nothing counted) when `id` is not open or
    /// already has 2^32 - 1 live objects.
    pub(crate) fn add_live(&mut self, id: SiteId) -> Option<()> {
        let site = self.site_mut(id)?;
        site.live = site.live.checked_add(1)?;
        site.tracked += 1;
        Some(())
    }

    /// Moves one object of `id` from live to pending.
    pub(crate) fn collect_one(&mut self, id: SiteId) {
        let Some(site) = self.site_mut(id) else {
            return;
        };
        site.live = site.live.saturating_sub(1);
        site.pending = site.pending.saturating_add(1);
        site.collected += 1;
        if site.live == 0 {
            self.emptied.push(id);
        }
    }

    /// Marks one pending collection of `id` as handed out.
    pub(crate) fn deliver_one(&mut self, id: SiteId) {
        if let Some(site) = self.site_mut(id) {
            site.pending = site.pending.saturating_sub(1);
        }
    }

    /// Releases every site with no live object and no pending collection, returning their ids
    /// and totals. Those ids may be handed out again by a later [`Sites::open`].
    pub fn release_idle(&mut self) -> Vec<Released> {
        let mut released = Vec::new();
        for id in std::mem::take(&mut self.emptied) {
            let idle = self.site(id).is_some_and(|s| s.live == 0 && s.pending == 0);
            if !idle {
                // Either live again, or still pending and back on the list when delivered.
                if self.site(id).is_some_and(|s| s.live == 0) {
                    self.emptied.push(id);
                }
                continue;
            }
            if let Some(site) = self.slots.get_mut(id as usize).and_then(Option::take) {
                released.push(Released {
                    id,
                    tracked: site.tracked,
                    collected: site.collected,
                });
            }
            self.free.push(id);
        }
        self.emptied.sort_unstable();
        self.emptied.dedup();
        released
    }

    fn site(&self, id: SiteId) -> Option<&Site> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    fn site_mut(&mut self, id: SiteId) -> Option<&mut Site> {
        self.slots.get_mut(id as usize).and_then(Option::as_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_open_gives_a_new_id() {
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        let b = sites.open().unwrap();
        assert_ne!(a, b);
        assert!(sites.contains(a) && sites.contains(b));
        assert!(!sites.contains(b + 1));
    }

    #[test]
    fn a_site_is_released_only_when_nothing_is_live_or_pending() {
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        sites.add_live(a).unwrap();
        sites.add_live(a).unwrap();
        sites.collect_one(a);
        assert!(sites.release_idle().is_empty(), "one still live");
        sites.collect_one(a);
        assert!(sites.release_idle().is_empty(), "two events pending");
        sites.deliver_one(a);
        sites.deliver_one(a);
        assert_eq!(
            sites.release_idle(),
            vec![Released {
                id: a,
                tracked: 2,
                collected: 2
            }]
        );
        assert!(!sites.contains(a));
        assert_eq!(sites.release_idle(), Vec::<Released>::new());
    }

    #[test]
    fn a_released_id_is_reused_with_fresh_counts() {
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        sites.add_live(a).unwrap();
        sites.collect_one(a);
        sites.deliver_one(a);
        assert_eq!(sites.release_idle().len(), 1);
        let b = sites.open().unwrap();
        assert_eq!(a, b);
        assert_eq!(sites.live(b), 0);
        assert_eq!(sites.capacity(), 1);
    }

    #[test]
    fn a_full_site_or_an_unknown_id_is_refused_without_a_panic() {
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        sites.slots[0].as_mut().unwrap().live = u32::MAX - 1;
        assert_eq!(sites.add_live(a), Some(()));
        assert_eq!(sites.add_live(a), None, "full");
        assert_eq!(sites.live(a), u32::MAX);
        assert_eq!(sites.add_live(a + 1), None, "never opened");
        sites.collect_one(a + 1);
        sites.deliver_one(a + 1);
        sites.deliver_one(a);
        assert_eq!(sites.totals(a), (1, 0));
    }

    #[test]
    fn a_site_that_comes_back_to_life_is_kept() {
        let mut sites = Sites::default();
        let a = sites.open().unwrap();
        sites.add_live(a).unwrap();
        sites.collect_one(a);
        sites.deliver_one(a);
        sites.add_live(a).unwrap();
        assert!(sites.release_idle().is_empty());
        assert_eq!(sites.live(a), 1);
    }
}
