//! The process-wide view: every tracker of every thread publishes its counts here, and any thread
//! reads them, without waiting on another thread's event loop.
//!
//! A tracker builds its [`View`] on its own thread and swaps it in under the table's lock: a
//! reader holds the lock only while it clones the `Arc`s of the views, so neither side ever waits
//! for more than a few pointer copies. Names are the JavaScript strings exactly ([`Name`]), each key
//! stored once per tracker however many lines track under it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::sites::{SiteId, Sites};

/// A key or origin as JavaScript holds it: UTF-8 when the string is well formed, its UTF-16 code
/// units when it holds a lone surrogate (which UTF-8 cannot carry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    Utf8(Box<str>),
    Utf16(Box<[u16]>),
}

impl Name {
    /// The name as text: lone surrogates become U+FFFD (for the metrics, whose format is UTF-8).
    pub fn lossy(&self) -> Cow<'_, str> {
        match self {
            Name::Utf8(s) => Cow::Borrowed(s),
            Name::Utf16(units) => Cow::Owned(String::from_utf16_lossy(units)),
        }
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
/// tracked (a key's totals start again once none of its objects is alive or pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub key: Arc<Name>,
    pub tracked: u64,
    pub collected: u64,
}

/// What one tracker last published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub thread: u32,
    pub sample: f64,
    pub rows: Vec<Row>,
    pub totals: Vec<Totals>,
}

#[derive(Debug, Default)]
struct KeyState {
    /// Totals of the key's sites that were released.
    tracked: u64,
    collected: u64,
    /// Open sites under the key.
    sites: u32,
}

/// A tracker's names and per-key totals, from which it builds its [`View`].
#[derive(Debug, Default)]
pub struct Labels {
    sites: Vec<Option<(Arc<Name>, Arc<Name>)>>,
    keys: HashMap<Arc<Name>, KeyState>,
    dirty: bool,
}

impl Labels {
    /// Site `id` was opened for `(key, origin)`.
    pub fn open(&mut self, id: SiteId, key: Name, origin: Name) {
        let key = match self.keys.get_key_value(&key) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::new(key),
        };
        self.keys.entry(Arc::clone(&key)).or_default().sites += 1;
        let i = id as usize;
        if self.sites.len() <= i {
            self.sites.resize(i + 1, None);
        }
        self.sites[i] = Some((key, Arc::new(origin)));
        self.dirty = true;
    }

    /// Site `id` was opened for the key of the open site `same_key_as` and `origin`: the key is
    /// not copied again. `false` when `same_key_as` is not open.
    pub fn open_with_key_of(&mut self, id: SiteId, same_key_as: SiteId, origin: Name) -> bool {
        let Some((key, _)) = self
            .sites
            .get(same_key_as as usize)
            .and_then(Option::as_ref)
        else {
            return false;
        };
        let key = Arc::clone(key);
        if let Some(state) = self.keys.get_mut(&key) {
            state.sites += 1;
        }
        let i = id as usize;
        if self.sites.len() <= i {
            self.sites.resize(i + 1, None);
        }
        self.sites[i] = Some((key, Arc::new(origin)));
        self.dirty = true;
        true
    }

    /// Site `id` was released with these totals; they stay counted under its key while the key
    /// has other sites.
    pub fn release(&mut self, id: SiteId, tracked: u64, collected: u64) {
        let Some((key, _)) = self.sites.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        if let Some(state) = self.keys.get_mut(&key) {
            state.tracked += tracked;
            state.collected += collected;
            state.sites -= 1;
            if state.sites == 0 {
                self.keys.remove(&key);
            }
        }
        self.dirty = true;
    }

    /// Counts changed: the next [`Labels::take_view`] builds a new view.
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// A new view when anything changed since the last one.
    pub fn take_view(&mut self, sites: &Sites, thread: u32, sample: f64) -> Option<View> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let mut rows = Vec::new();
        let mut totals: HashMap<&Arc<Name>, (u64, u64)> = HashMap::new();
        for (id, labels) in self.sites.iter().enumerate() {
            let Some((key, origin)) = labels else {
                continue;
            };
            let id = id as SiteId;
            let live = u64::from(sites.live(id));
            if live > 0 {
                rows.push(Row {
                    key: Arc::clone(key),
                    origin: Arc::clone(origin),
                    live,
                });
            }
            let (tracked, collected) = sites.totals(id);
            let entry = totals.entry(key).or_default();
            entry.0 += tracked;
            entry.1 += collected;
        }
        let totals = self
            .keys
            .iter()
            .map(|(key, state)| {
                let (tracked, collected) = totals.get(key).copied().unwrap_or_default();
                Totals {
                    key: Arc::clone(key),
                    tracked: tracked + state.tracked,
                    collected: collected + state.collected,
                }
            })
            .collect();
        Some(View {
            thread,
            sample,
            rows,
            totals,
        })
    }
}

/// Every tracker's last view, by tracker id.
#[derive(Debug)]
pub struct Table {
    views: Mutex<BTreeMap<u64, Arc<View>>>,
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
            views: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// A new tracker's id, with an empty view.
    pub fn register(&self, thread: u32, sample: f64) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let view = View {
            thread,
            sample,
            ..View::default()
        };
        self.views.lock().insert(id, Arc::new(view));
        id
    }

    /// Replaces tracker `id`'s view (built beforehand, outside the lock).
    pub fn publish(&self, id: u64, view: View) {
        let view = Arc::new(view);
        if let Some(slot) = self.views.lock().get_mut(&id) {
            *slot = view;
        }
    }

    /// Tracker `id` is gone (collected, or its thread ended).
    pub fn remove(&self, id: u64) {
        self.views.lock().remove(&id);
    }

    /// The current views, by tracker id.
    pub fn views(&self) -> Vec<(u64, Arc<View>)> {
        self.views
            .lock()
            .iter()
            .map(|(&id, view)| (id, Arc::clone(view)))
            .collect()
    }
}

/// Live counts of every view, merged per (key, origin), in name order.
pub fn merged_refs(views: &[(u64, Arc<View>)]) -> Vec<(Arc<Name>, Arc<Name>, u64)> {
    let mut merged: BTreeMap<(&Arc<Name>, &Arc<Name>), u64> = BTreeMap::new();
    for (_, view) in views {
        for row in &view.rows {
            *merged.entry((&row.key, &row.origin)).or_default() += row.live;
        }
    }
    merged
        .into_iter()
        .map(|((key, origin), live)| (Arc::clone(key), Arc::clone(origin), live))
        .collect()
}

/// Series per thread, trackers of one thread summed: live per (key, origin, thread), and
/// (tracked, collected) per (key, thread).
#[derive(Debug, Default)]
pub struct Series<'a> {
    pub live: BTreeMap<(&'a Arc<Name>, &'a Arc<Name>, u32), u64>,
    pub totals: BTreeMap<(&'a Arc<Name>, u32), (u64, u64)>,
}

pub fn series(views: &[(u64, Arc<View>)]) -> Series<'_> {
    let mut series = Series::default();
    for (_, view) in views {
        for row in &view.rows {
            *series
                .live
                .entry((&row.key, &row.origin, view.thread))
                .or_default() += row.live;
        }
        for t in &view.totals {
            let entry = series.totals.entry((&t.key, view.thread)).or_default();
            entry.0 += t.tracked;
            entry.1 += t.collected;
        }
    }
    series
}

/// The media type of [`openmetrics`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value as OpenMetrics writes it: backslash, double quote and newline escaped.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(value, &mut out);
        out.push('"');
    }
    out.push('}');
    out
}

/// The process-wide figures in the OpenMetrics text format, ending with `# EOF`. Series are summed
/// per label set: trackers of one thread add up, and so do names that differ only in lone
/// surrogates (the format is UTF-8).
pub fn openmetrics(views: &[(u64, Arc<View>)]) -> String {
    let exact = series(views);
    let mut live: BTreeMap<(Cow<str>, Cow<str>, u32), u64> = BTreeMap::new();
    let mut tracked: BTreeMap<(Cow<str>, u32), u64> = BTreeMap::new();
    let mut collected: BTreeMap<(Cow<str>, u32), u64> = BTreeMap::new();
    for ((key, origin, thread), n) in exact.live {
        *live
            .entry((key.lossy(), origin.lossy(), thread))
            .or_default() += n;
    }
    for ((key, thread), (t, c)) in exact.totals {
        *tracked.entry((key.lossy(), thread)).or_default() += t;
        *collected.entry((key.lossy(), thread)).or_default() += c;
    }
    let mut out = String::new();
    out.push_str("# TYPE weak_tracker_live gauge\n");
    out.push_str("# HELP weak_tracker_live Live tracked objects per key and line, as of each thread's last sweep.\n");
    for ((key, origin, thread), n) in &live {
        let thread = thread.to_string();
        let _ = writeln!(
            out,
            "weak_tracker_live{} {n}",
            labels(&[("key", key), ("origin", origin), ("thread", &thread)])
        );
    }
    for (family, help, values) in [
        ("tracked", "Objects tracked per key.", &tracked),
        (
            "collected",
            "Tracked objects found collected per key.",
            &collected,
        ),
    ] {
        let _ = writeln!(out, "# TYPE weak_tracker_{family} counter");
        let _ = writeln!(out, "# HELP weak_tracker_{family} {help}");
        for ((key, thread), n) in values {
            let thread = thread.to_string();
            let _ = writeln!(
                out,
                "weak_tracker_{family}_total{} {n}",
                labels(&[("key", key), ("thread", &thread)])
            );
        }
    }
    out.push_str("# TYPE weak_tracker_sample_ratio gauge\n");
    out.push_str(
        "# HELP weak_tracker_sample_ratio The fraction of track() calls each tracker records.\n",
    );
    for (id, view) in views {
        let _ = writeln!(
            out,
            "weak_tracker_sample_ratio{} {}",
            labels(&[
                ("thread", &view.thread.to_string()),
                ("tracker", &id.to_string())
            ]),
            view.sample
        );
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::Utf8(s.into())
    }

    #[test]
    fn a_view_has_live_rows_and_per_key_totals_that_survive_released_sites() {
        let mut sites = Sites::default();
        let mut labels = Labels::default();
        let a = sites.open().unwrap();
        let b = sites.open().unwrap();
        labels.open(a, name("k"), name("at a"));
        labels.open(b, name("k"), name("at b"));
        sites.add_live(a).unwrap();
        sites.add_live(a).unwrap();
        sites.add_live(b).unwrap();
        sites.collect_one(b);
        sites.deliver_one(b);
        let view = labels.take_view(&sites, 3, 1.0).unwrap();
        assert_eq!(view.rows.len(), 1);
        assert_eq!(view.rows[0].live, 2);
        assert_eq!(view.totals[0].tracked, 3);
        assert_eq!(view.totals[0].collected, 1);
        assert!(
            labels.take_view(&sites, 3, 1.0).is_none(),
            "nothing changed"
        );
        for released in sites.release_idle() {
            labels.release(released.id, released.tracked, released.collected);
        }
        let view = labels.take_view(&sites, 3, 1.0).unwrap();
        assert_eq!((view.totals[0].tracked, view.totals[0].collected), (3, 1));
        // The key's last site goes: so do its totals.
        sites.collect_one(a);
        sites.collect_one(a);
        sites.deliver_one(a);
        sites.deliver_one(a);
        for released in sites.release_idle() {
            labels.release(released.id, released.tracked, released.collected);
        }
        assert!(labels.take_view(&sites, 3, 1.0).unwrap().totals.is_empty());
    }

    #[test]
    fn a_site_can_share_the_key_of_an_open_site_without_a_copy() {
        let mut sites = Sites::default();
        let mut labels = Labels::default();
        let a = sites.open().unwrap();
        labels.open(a, name("k"), name("at a"));
        let b = sites.open().unwrap();
        assert!(labels.open_with_key_of(b, a, name("at b")));
        assert!(
            !labels.open_with_key_of(b + 1, 99, name("at c")),
            "an unknown site"
        );
        sites.add_live(b).unwrap();
        let view = labels.take_view(&sites, 0, 1.0).unwrap();
        assert_eq!(view.rows[0].key, Arc::new(name("k")));
        assert_eq!(view.totals.len(), 1);
        assert_eq!(labels.keys[&name("k")].sites, 2);
    }

    #[test]
    fn a_key_is_stored_once_for_all_its_lines() {
        let mut sites = Sites::default();
        let mut labels = Labels::default();
        for line in 0..20 {
            let id = sites.open().unwrap();
            labels.open(id, name(&"x".repeat(1000)), name(&format!("at {line}")));
        }
        let keys: Vec<_> = labels
            .sites
            .iter()
            .flatten()
            .map(|(k, _)| Arc::as_ptr(k))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn merged_refs_add_up_across_trackers_and_keep_lone_surrogate_names_apart() {
        let lone = Arc::new(Name::Utf16(vec![0xD83C].into()));
        let replacement = Arc::new(name("\u{FFFD}"));
        let origin = Arc::new(name("at o"));
        let view = |rows: Vec<Row>| {
            (
                0,
                Arc::new(View {
                    rows,
                    ..View::default()
                }),
            )
        };
        let views = [
            view(vec![Row {
                key: Arc::clone(&lone),
                origin: Arc::clone(&origin),
                live: 2,
            }]),
            view(vec![
                Row {
                    key: Arc::clone(&lone),
                    origin: Arc::clone(&origin),
                    live: 3,
                },
                Row {
                    key: Arc::clone(&replacement),
                    origin: Arc::clone(&origin),
                    live: 1,
                },
            ]),
        ];
        let merged = merged_refs(&views);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().any(|(k, _, n)| **k == *lone && *n == 5));
        // In the metrics both become U+FFFD and are summed into one series.
        let text = openmetrics(&views);
        assert!(
            text.contains("weak_tracker_live{key=\"\u{FFFD}\",origin=\"at o\",thread=\"0\"} 6\n"),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped_and_the_text_ends_with_eof() {
        let view = View {
            thread: 2,
            sample: 0.5,
            rows: vec![Row {
                key: Arc::new(name("a\"b\\c\nd")),
                origin: Arc::new(name("at f (/x.js:1:2)")),
                live: 7,
            }],
            totals: vec![Totals {
                key: Arc::new(name("a\"b\\c\nd")),
                tracked: 9,
                collected: 2,
            }],
        };
        let text = openmetrics(&[(5, Arc::new(view))]);
        assert!(
            text.contains(
                r#"weak_tracker_live{key="a\"b\\c\nd",origin="at f (/x.js:1:2)",thread="2"} 7"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"weak_tracker_tracked_total{key="a\"b\\c\nd",thread="2"} 9"#));
        assert!(text.contains(r#"weak_tracker_collected_total{key="a\"b\\c\nd",thread="2"} 2"#));
        assert!(text.contains(r#"weak_tracker_sample_ratio{thread="2",tracker="5"} 0.5"#));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn threads_publish_and_read_at_once_without_losing_a_view() {
        let table = Table::new();
        let readers_done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for t in 0..8u32 {
                let table = &table;
                scope.spawn(move || {
                    let id = table.register(t, 1.0);
                    for n in 0..200u64 {
                        let view = View {
                            thread: t,
                            sample: 1.0,
                            rows: vec![Row {
                                key: Arc::new(name("k")),
                                origin: Arc::new(name("o")),
                                live: n,
                            }],
                            totals: Vec::new(),
                        };
                        table.publish(id, view);
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..200 {
                    let views = table.views();
                    let _ = merged_refs(&views);
                    let _ = openmetrics(&views);
                }
                readers_done.store(true, Ordering::Relaxed);
            });
        });
        let views = table.views();
        assert_eq!(views.len(), 8);
        assert_eq!(
            merged_refs(&views),
            vec![(Arc::new(name("k")), Arc::new(name("o")), 8 * 199)]
        );
        assert!(readers_done.load(Ordering::Relaxed));
        for (id, _) in views {
            table.remove(id);
        }
        assert!(table.views().is_empty());
    }
}
