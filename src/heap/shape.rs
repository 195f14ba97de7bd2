//! The shape of a retainer path, shared by `why` ([`super::paths`]) and `growth`
//! ([`super::growth`]): one link is the edge's name (indices and numbered slots as `[x]`,
//! LeakCanary's signature) with the class and type of the node it leads to, and a run of links
//! that repeat (a linked list's `next`, a promise's reactions, nested contexts, a timer list) is
//! one link however long it is.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::snapshot::HeapGraph;
use super::summary::display_name;

/// The longest unit of links a run may repeat (`a → A → b → B`, repeated, is a unit of two).
pub const MAX_PERIOD: usize = 4;

pub(crate) fn hash_of(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// An edge's name as a shape sees it: an index (`[3]`) or a numbered slot of a hash table (`17`)
/// says nothing about the shape and is `[x]`.
pub(crate) fn edge_shape(name: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let indexed = name
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .is_some_and(digits);
    if indexed || digits(name) {
        "[x]"
    } else {
        name
    }
}

/// The shape of one link as a report names it: its edge's name, and its node's name and type.
pub(crate) fn link_of(edge: &str, node: &str, node_type: &str) -> u64 {
    hash_of((edge_shape(edge), node, node_type))
}

/// The shape of the link into `node` through `edge`, from the snapshot's own names.
/// (A property named by digits, which a report withholds, is a numbered slot here too.)
pub(crate) fn link(graph: &HeapGraph, node: u32, edge: u32) -> u64 {
    link_named(graph, node, edge, &display_name(graph, node))
}

/// [`link`] for a caller that has the node's [`display_name`] already.
pub(crate) fn link_named(graph: &HeapGraph, node: u32, edge: u32, name: &str) -> u64 {
    let edge = edge as usize;
    let numbered = graph.edge_is_indexed(edge)
        || graph
            .edge_name_str(edge)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let edge_name = if numbered {
        "[x]".to_owned()
    } else {
        graph.edge_name(edge)
    };
    link_of(&edge_name, name, graph.node_type_name(node))
}

/// A stretch of a path: `period` links starting at `start`, `repeat` times in a row (a single
/// link that does not repeat is a run of period 1 and repeat 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: usize,
    pub period: usize,
    pub repeat: usize,
}

/// Cuts `links` into runs, greedily from the start: at each position the unit of at most
/// [`MAX_PERIOD`] links that repeats over the longest stretch (the shortest unit on a tie).
pub fn runs(links: &[u64]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < links.len() {
        let mut best = Run {
            start: i,
            period: 1,
            repeat: 1,
        };
        for period in 1..=MAX_PERIOD.min(links.len() - i) {
            let unit = &links[i..i + period];
            let mut repeat = 1;
            while links
                .get(i + repeat * period..i + (repeat + 1) * period)
                .is_some_and(|next| next == unit)
            {
                repeat += 1;
            }
            if repeat > 1 && repeat * period > best.repeat * best.period {
                best = Run {
                    start: i,
                    period,
                    repeat,
                };
            }
        }
        i += best.period * best.repeat;
        out.push(best);
    }
    out
}

/// The signature of a path of links: each run's unit once, and a link the same as the one before
/// it once, so that paths that differ only in how often a chain repeats are one shape.
pub fn signature(links: &[u64]) -> u64 {
    let mut folded: Vec<u64> = Vec::new();
    for run in runs(links) {
        for &l in &links[run.start..run.start + run.period] {
            if folded.last() != Some(&l) {
                folded.push(l);
            }
        }
    }
    hash_of(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn indices_and_numbered_slots_are_one_shape_and_names_are_not() {
        assert_eq!(edge_shape("[12]"), "[x]");
        assert_eq!(edge_shape("17"), "[x]");
        assert_eq!(edge_shape("next"), "next");
        assert_eq!(edge_shape("[0] (one of a, b)"), "[0] (one of a, b)");
        assert_eq!(edge_shape("[]"), "[]");
    }

    #[test]
    fn a_chain_of_one_link_and_a_chain_of_two_links_are_runs() {
        // x a a a a y b c b c b c z
        let links = [9, 1, 1, 1, 1, 8, 2, 3, 2, 3, 2, 3, 7];
        let got: Vec<_> = runs(&links)
            .iter()
            .map(|r| (r.start, r.period, r.repeat))
            .collect();
        assert_eq!(
            got,
            [(0, 1, 1), (1, 1, 4), (5, 1, 1), (6, 2, 3), (12, 1, 1)]
        );
    }

    #[test]
    fn paths_that_differ_only_in_how_often_a_chain_repeats_have_one_signature() {
        let short = [9, 1, 7];
        let long = [9, 1, 1, 1, 1, 1, 7];
        let pairs = [9, 2, 3, 2, 3, 2, 3, 7];
        let pair = [9, 2, 3, 7];
        assert_eq!(signature(&short), signature(&long));
        assert_eq!(signature(&pair), signature(&pairs));
        assert_ne!(signature(&short), signature(&pair));
        assert_ne!(signature(&[9, 7]), signature(&short));
    }

    proptest! {
        #[test]
        fn runs_cover_the_links_exactly_once_and_each_run_repeats_its_unit(
            links in proptest::collection::vec(0u64..3, 0..60)
        ) {
            let mut at = 0;
            for run in runs(&links) {
                prop_assert_eq!(run.start, at);
                prop_assert!(run.period >= 1 && run.period <= MAX_PERIOD && run.repeat >= 1);
                let unit = &links[run.start..run.start + run.period];
                for k in 0..run.repeat {
                    let from = run.start + k * run.period;
                    prop_assert_eq!(&links[from..from + run.period], unit);
                }
                at += run.period * run.repeat;
            }
            prop_assert_eq!(at, links.len());
        }
    }
}
