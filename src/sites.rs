//! Call sites: interned `(key, origin)` pairs with their live and pending counts.

use std::collections::HashMap;

/// Index of an interned `(key, origin)` pair. Small and dense so that JavaScript can cache it and
/// pass it back on every `track` instead of two strings.
pub type SiteId = u32;

#[derive(Debug)]
struct Site {
    key: Box<str>,
    origin: Box<str>,
    /// Tracked objects of this site that have not been seen collected.
    live: u32,
    /// Collections already counted but whose `'gc'` event has not been handed out.
    pending: u32,
}

/// The interning table. A site whose objects are all collected and whose events were all handed out
/// can be released, so that a program that tracks under ever new keys keeps a bounded table.
#[derive(Debug, Default)]
pub struct Sites {
    slots: Vec<Option<Site>>,
    by_name: HashMap<(Box<str>, Box<str>), SiteId>,
    free: Vec<SiteId>,
    /// Sites whose live count reached zero since the last [`Sites::release_idle`].
    emptied: Vec<SiteId>,
}

impl Sites {
    /// The id of `(key, origin)`, interning it if it is new.
    pub fn intern(&mut self, key: &str, origin: &str) -> SiteId {
        let name = (Box::<str>::from(key), Box::<str>::from(origin));
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let site = Site {
            key: name.0.clone(),
            origin: name.1.clone(),
            live: 0,
            pending: 0,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(site);
                id
            }
            None => {
                let id = SiteId::try_from(self.slots.len()).expect("fewer than 2^32 call sites");
                self.slots.push(Some(site));
                id
            }
        };
        self.by_name.insert(name, id);
        id
    }

    /// Whether `id` names an interned site.
    pub fn contains(&self, id: SiteId) -> bool {
        self.site(id).is_some()
    }

    /// The `(key, origin)` of an interned site.
    pub fn name(&self, id: SiteId) -> Option<(&str, &str)> {
        self.site(id).map(|s| (&*s.key, &*s.origin))
    }

    /// How many tracked objects of `id` are live (0 for an unknown id).
    pub fn live(&self, id: SiteId) -> u32 {
        self.site(id).map_or(0, |s| s.live)
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

    /// Interned ids with at least one live object, in id order.
    pub fn live_ids(&self) -> impl Iterator<Item = SiteId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s.live > 0))
            .map(|(id, _)| id as SiteId)
    }

    pub(crate) fn add_live(&mut self, id: SiteId) {
        let site = self.site_mut(id);
        site.live = site
            .live
            .checked_add(1)
            .expect("fewer than 2^32 objects per site");
    }

    /// Moves one object of `id` from live to pending.
    pub(crate) fn collect_one(&mut self, id: SiteId) {
        let site = self.site_mut(id);
        site.live -= 1;
        site.pending += 1;
        if site.live == 0 {
            self.emptied.push(id);
        }
    }

    /// Marks one pending collection of `id` as handed out.
    pub(crate) fn deliver_one(&mut self, id: SiteId) {
        self.site_mut(id).pending -= 1;
    }

    /// Releases every site with no live object and no pending collection, returning their ids.
    /// Those ids may be handed out again by a later [`Sites::intern`].
    pub fn release_idle(&mut self) -> Vec<SiteId> {
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
            let site = self.slots[id as usize].take().expect("checked above");
            self.by_name.remove(&(site.key, site.origin));
            self.free.push(id);
            released.push(id);
        }
        self.emptied.sort_unstable();
        self.emptied.dedup();
        released
    }

    fn site(&self, id: SiteId) -> Option<&Site> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    fn site_mut(&mut self, id: SiteId) -> &mut Site {
        self.slots
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .expect("callers check the id first")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_the_same_pair_twice_gives_the_same_id() {
        let mut sites = Sites::default();
        let a = sites.intern("k", "at f (/a.js:1:1)");
        let b = sites.intern("k", "at g (/a.js:2:1)");
        let c = sites.intern("other", "at f (/a.js:1:1)");
        assert_eq!(sites.intern("k", "at f (/a.js:1:1)"), a);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(sites.name(b), Some(("k", "at g (/a.js:2:1)")));
    }

    #[test]
    fn a_site_is_released_only_when_nothing_is_live_or_pending() {
        let mut sites = Sites::default();
        let a = sites.intern("k", "o");
        sites.add_live(a);
        sites.add_live(a);
        sites.collect_one(a);
        assert!(sites.release_idle().is_empty(), "one still live");
        sites.collect_one(a);
        assert!(sites.release_idle().is_empty(), "two events pending");
        sites.deliver_one(a);
        sites.deliver_one(a);
        assert_eq!(sites.release_idle(), vec![a]);
        assert!(!sites.contains(a));
        assert_eq!(sites.release_idle(), Vec::<SiteId>::new());
    }

    #[test]
    fn a_released_id_is_reused_for_a_new_pair() {
        let mut sites = Sites::default();
        let a = sites.intern("k", "o");
        sites.add_live(a);
        sites.collect_one(a);
        sites.deliver_one(a);
        assert_eq!(sites.release_idle(), vec![a]);
        let b = sites.intern("k2", "o2");
        assert_eq!(a, b);
        assert_eq!(sites.name(b), Some(("k2", "o2")));
        assert_eq!(sites.capacity(), 1);
    }

    #[test]
    fn a_site_that_comes_back_to_life_is_kept() {
        let mut sites = Sites::default();
        let a = sites.intern("k", "o");
        sites.add_live(a);
        sites.collect_one(a);
        sites.deliver_one(a);
        sites.add_live(a);
        assert!(sites.release_idle().is_empty());
        assert_eq!(sites.live(a), 1);
    }
}
