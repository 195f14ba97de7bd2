#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The views of all trackers merged: per exact name for `processRefs()`, and per label set for
//! the metrics, where names are UTF-8 text and so lone surrogates become U+FFFD. Both metric
//! writers (the OpenMetrics text and the prom-client collectors) read the same [`Series`], so
//! every series is written once, whatever names met in it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Name, View};

/// Live counts of every view, merged per (key, origin), in name order.
pub fn merged_refs(views: &[View]) -> Vec<(Arc<Name>, Arc<Name>, u64)> {
    let mut merged: BTreeMap<(&Arc<Name>, &Arc<Name>), u64> = BTreeMap::new();
    for view in views {
        for row in &view.rows {
            *merged.entry((&row.key, &row.origin)).or_default() += row.live;
        }
    }
    merged
        .into_iter()
        .map(|((key, origin), live)| (Arc::clone(key), Arc::clone(origin), live))
        .collect()
}

/// The metrics' series, one per label set, in label order: live per (key, origin, thread);
/// (tracked, collected) per (key, thread); the sample ratio per (thread, tracker slot). Trackers
/// of one thread, and names that differ only in lone surrogates, add up.
#[derive(Debug, Default, PartialEq)]
pub struct Series<'a> {
    pub live: BTreeMap<(Cow<'a, str>, Cow<'a, str>, u32), u64>,
    pub totals: BTreeMap<(Cow<'a, str>, u32), (u64, u64)>,
    pub samples: BTreeMap<(u32, u32), f64>,
}

pub fn series(views: &[View]) -> Series<'_> {
    let mut series = Series::default();
    for view in views {
        for row in &view.rows {
            *series
                .live
                .entry((row.key.lossy(), row.origin.lossy(), view.thread))
                .or_default() += row.live;
        }
        for t in &view.totals {
            let entry = series
                .totals
                .entry((t.key.lossy(), view.thread))
                .or_default();
            entry.0 += t.tracked;
            entry.1 += t.collected;
        }
        series.samples.insert((view.thread, view.slot), view.sample);
    }
    series
}

#[cfg(test)]
mod tests {
    use super::super::{Row, Totals};
    use super::*;

    fn name(s: &str) -> Arc<Name> {
        Arc::new(Name::Utf8(s.into()))
    }

    fn view(thread: u32, slot: u32, rows: &[(&Arc<Name>, u64)]) -> View {
        View {
            thread,
            slot,
            sample: 1.0,
            rows: rows
                .iter()
                .map(|(key, live)| Row {
                    key: Arc::clone(key),
                    origin: name("at o"),
                    live: *live,
                })
                .collect(),
            totals: rows
                .iter()
                .map(|(key, live)| Totals {
                    key: Arc::clone(key),
                    tracked: *live,
                    collected: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn merged_refs_add_up_across_trackers_and_keep_lone_surrogate_names_apart() {
        let lone = Arc::new(Name::Utf16(vec![0x78, 0xD800].into()));
        let replacement = name("x\u{FFFD}");
        let views = [
            view(0, 0, &[(&lone, 2)]),
            view(0, 1, &[(&lone, 3), (&replacement, 1)]),
        ];
        let merged = merged_refs(&views);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().any(|(k, _, n)| **k == *lone && *n == 5));
        assert!(merged
            .iter()
            .any(|(k, _, n)| **k == *replacement && *n == 1));
    }

    #[test]
    fn series_are_one_per_label_set_names_that_meet_in_utf8_add_up() {
        let lone = Arc::new(Name::Utf16(vec![0x78, 0xD800].into()));
        let replacement = name("x\u{FFFD}");
        let views = [
            view(0, 0, &[(&lone, 2), (&replacement, 1)]),
            view(0, 1, &[(&lone, 3)]),
            view(4, 0, &[(&replacement, 7)]),
        ];
        let s = series(&views);
        let key = || Cow::Borrowed("x\u{FFFD}");
        assert_eq!(s.live.len(), 2);
        assert_eq!(s.live[&(key(), Cow::Borrowed("at o"), 0)], 6);
        assert_eq!(s.live[&(key(), Cow::Borrowed("at o"), 4)], 7);
        assert_eq!(s.totals[&(key(), 0)], (6, 0));
        assert_eq!(
            s.samples.keys().copied().collect::<Vec<_>>(),
            vec![(0, 0), (0, 1), (4, 0)]
        );
    }
}
