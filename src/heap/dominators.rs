//! Dominators and retained sizes: the bytes and objects that would go if a node went.
//!
//! Node `d` dominates `n` when every path from the root to `n` passes through `d`; the retained
//! size of `d` is its own size plus that of every node it dominates. The graph is the snapshot's
//! with only the edges that own (see [`retains`]); the tree is computed by semi-NCA (Georgiadis'
//! simpler variant of Lengauer–Tarjan, near-linear), without recursion, in flat `u32` columns.

use super::paths::meaningful_edge;
use super::snapshot::HeapGraph;

/// No node (the root's dominator, and that of nodes the root does not reach).
pub const NONE: u32 = u32::MAX;

/// Whether the edge from `from` keeps its target alive: the edges the retainer paths follow
/// ([`meaningful_edge`]), and also strong edges to strings, which a path never needs to go
/// through but which are part of what an object costs (DevTools counts them in retained sizes).
///
/// A WeakMap entry is two edges to its value, both named `part of key (…) -> value (…) pair in
/// WeakMap (table @<id>)`: one from the table, one from the key. The value lives as long as its
/// key does, so the key's edge owns and the table's does not (as in DevTools).
pub(crate) fn retains(graph: &HeapGraph, from: u32, edge: usize) -> bool {
    let to = graph.edge_to[edge];
    if let Some(table) = graph.edge_name_str(edge).and_then(ephemeron_table) {
        return to != from
            && graph.edge_type_name(edge) != "weak"
            && table != u64::from(graph.node_id(from));
    }
    if meaningful_edge(graph, from, edge) {
        return true;
    }
    to != from
        && graph.edge_type_name(edge) != "weak"
        && matches!(
            graph.node_type_name(to),
            "string" | "concatenated string" | "sliced string"
        )
}

/// The table's id in the name of a WeakMap entry's edge.
fn ephemeron_table(name: &str) -> Option<u64> {
    if !name.contains("part of key (") {
        return None;
    }
    let (_, tail) = name.rsplit_once("pair in WeakMap (table @")?;
    tail.strip_suffix(')')?.parse().ok()
}

/// The immediate dominator of every node of a graph of `n` nodes whose successors `successors`
/// lists, from `root`: [`NONE`] for the root and for nodes it does not reach.
///
/// Memory: six `u32` columns of `n` plus the predecessor lists (one `u32` per edge followed).
pub fn immediate_dominators<F, I>(n: usize, root: u32, successors: F) -> Vec<u32>
where
    F: Fn(u32) -> I,
    I: Iterator<Item = u32>,
{
    // Preorder numbers from 1 (0 is "none"), by an explicit-stack depth-first search.
    let mut order = vec![0u32; n];
    let mut vertex: Vec<u32> = Vec::with_capacity(n.min(1 << 20) + 1);
    vertex.push(NONE);
    let mut parent: Vec<u32> = vec![0];
    {
        let mut stack: Vec<(u32, I)> = Vec::new();
        order[root as usize] = 1;
        vertex.push(root);
        parent.push(0);
        stack.push((root, successors(root)));
        while let Some((node, edges)) = stack.last_mut() {
            let from = order[*node as usize];
            match edges.next() {
                Some(to) => {
                    if order[to as usize] == 0 {
                        order[to as usize] = vertex.len() as u32;
                        vertex.push(to);
                        parent.push(from);
                        stack.push((to, successors(to)));
                    }
                }
                None => {
                    stack.pop();
                }
            }
        }
    }
    let reached = vertex.len() - 1;
    // Predecessors by preorder number, as flat lists.
    let mut first = vec![0u32; reached + 2];
    for &v in &vertex[1..] {
        for to in successors(v) {
            let w = order[to as usize] as usize;
            if w != 0 {
                first[w + 1] += 1;
            }
        }
    }
    for w in 1..first.len() {
        first[w] += first[w - 1];
    }
    let mut fill = first.clone();
    let mut preds = vec![0u32; first[reached + 1] as usize];
    for (v, &node) in vertex.iter().enumerate().skip(1) {
        for to in successors(node) {
            let w = order[to as usize] as usize;
            if w != 0 {
                preds[fill[w] as usize] = v as u32;
                fill[w] += 1;
            }
        }
    }
    drop(fill);
    // Semidominators, with a path-compressed forest (ancestor, label).
    let mut semi: Vec<u32> = (0..=reached as u32).collect();
    let mut label: Vec<u32> = (0..=reached as u32).collect();
    let mut ancestor = vec![0u32; reached + 1];
    let mut chain: Vec<u32> = Vec::new();
    for w in (2..=reached).rev() {
        let mut s = semi[w];
        for &v in &preds[first[w] as usize..first[w + 1] as usize] {
            let u = eval(v, &mut ancestor, &mut label, &semi, &mut chain);
            s = s.min(semi[u as usize]);
        }
        semi[w] = s;
        ancestor[w] = parent[w];
    }
    drop(preds);
    drop(first);
    drop(label);
    // Immediate dominators: the nearest common ancestor of the parent and the semidominator.
    let mut idom = ancestor;
    idom[1] = 0;
    for w in 2..=reached {
        let mut d = parent[w];
        while d > semi[w] {
            d = idom[d as usize];
        }
        idom[w] = d;
    }
    let mut result = vec![NONE; n];
    for w in 2..=reached {
        result[vertex[w] as usize] = vertex[idom[w] as usize];
    }
    result
}

/// Lengauer–Tarjan's EVAL, with the path compression done by a loop instead of recursion.
fn eval(
    v: u32,
    ancestor: &mut [u32],
    label: &mut [u32],
    semi: &[u32],
    chain: &mut Vec<u32>,
) -> u32 {
    if ancestor[v as usize] == 0 {
        return v;
    }
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != 0 {
        chain.push(x);
        x = ancestor[x as usize];
    }
    while let Some(y) = chain.pop() {
        let a = ancestor[y as usize] as usize;
        if semi[label[a] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a];
        }
        ancestor[y as usize] = ancestor[a];
    }
    label[v as usize]
}

/// The dominator tree of a snapshot and what each node retains.
#[derive(Debug)]
pub struct Retained {
    /// Per node: its immediate dominator, or [`NONE`] (the root, and what the root does not reach).
    pub idom: Vec<u32>,
    /// Per node: its own size plus that of every node it dominates (0 if not reached).
    pub size: Vec<u64>,
    /// Per node: how many nodes it dominates, itself included (0 if not reached).
    pub count: Vec<u32>,
}

impl Retained {
    /// Computes the dominator tree of `graph` from node 0 over the edges that [`retains`].
    pub fn compute(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let idom = immediate_dominators(n, 0, |node| {
            graph
                .edges(node)
                .filter(move |&e| retains(graph, node, e))
                .map(|e| graph.edge_to[e])
        });
        Self::from_tree(idom, |node| u64::from(graph.self_size(node)))
    }

    /// Retained sizes and counts summed up the tree `idom` (root 0).
    pub fn from_tree(idom: Vec<u32>, self_size: impl Fn(u32) -> u64) -> Self {
        let n = idom.len();
        let mut size = vec![0u64; n];
        let mut count = vec![0u32; n];
        // Children before parents: a node's depth in the tree orders them; computed without
        // recursion by walking each node up to a node whose depth is known.
        let mut depth = vec![u32::MAX; n];
        if n > 0 {
            depth[0] = 0;
        }
        let mut chain = Vec::new();
        for node in 0..n {
            let mut at = node as u32;
            while depth[at as usize] == u32::MAX && idom[at as usize] != NONE {
                chain.push(at);
                at = idom[at as usize];
            }
            if depth[at as usize] == u32::MAX {
                // Not reached from the root.
                chain.clear();
                continue;
            }
            let mut d = depth[at as usize];
            while let Some(x) = chain.pop() {
                d += 1;
                depth[x as usize] = d;
            }
        }
        let mut by_depth: Vec<u32> = (0..n as u32)
            .filter(|&v| depth[v as usize] != u32::MAX)
            .collect();
        by_depth.sort_unstable_by_key(|&v| std::cmp::Reverse(depth[v as usize]));
        drop(depth);
        for &v in &by_depth {
            size[v as usize] += self_size(v);
            count[v as usize] += 1;
            let d = idom[v as usize];
            if d != NONE {
                size[d as usize] += size[v as usize];
                count[d as usize] += count[v as usize];
            }
        }
        Self { idom, size, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::snapshot::tests::snapshot;
    use proptest::prelude::*;

    fn csr(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); n];
        for &(a, b) in edges {
            out[a as usize].push(b);
        }
        out
    }

    fn idom(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
        let adj = csr(n, edges);
        immediate_dominators(n, 0, |v| adj[v as usize].clone().into_iter())
    }

    /// The definition, O(n²·e): `d` dominates `v` when `v` is unreachable without `d`.
    fn naive(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
        let adj = csr(n, edges);
        let reach = |skip: Option<u32>| {
            let mut seen = vec![false; n];
            if skip == Some(0) {
                return seen;
            }
            let mut stack = vec![0u32];
            seen[0] = true;
            while let Some(v) = stack.pop() {
                for &w in &adj[v as usize] {
                    if Some(w) != skip && !seen[w as usize] {
                        seen[w as usize] = true;
                        stack.push(w);
                    }
                }
            }
            seen
        };
        let all = reach(None);
        // doms[v]: strict dominators of v.
        let mut doms = vec![Vec::new(); n];
        for d in 0..n as u32 {
            let without = reach(Some(d));
            for v in 0..n {
                if v as u32 != d && all[v] && !without[v] {
                    doms[v].push(d);
                }
            }
        }
        (0..n)
            .map(|v| {
                if v == 0 || !all[v] {
                    return NONE;
                }
                // The strict dominator that all the others dominate: the one with most dominators.
                *doms[v]
                    .iter()
                    .max_by_key(|&&d| doms[d as usize].len())
                    .unwrap_or(&NONE)
            })
            .collect()
    }

    #[test]
    fn a_diamond_is_dominated_by_its_top_and_a_cycle_by_its_entry() {
        // 0 -> 1 -> {2, 3} -> 4 ; 4 -> 5 -> 6 -> 4 (cycle entered at 4)
        let edges = [
            (0, 1),
            (1, 2),
            (1, 3),
            (2, 4),
            (3, 4),
            (4, 5),
            (5, 6),
            (6, 4),
        ];
        assert_eq!(idom(8, &edges), vec![NONE, 0, 1, 1, 1, 4, 5, NONE]);
        assert_eq!(idom(8, &edges), naive(8, &edges));
    }

    #[test]
    fn a_chain_of_ten_thousand_links_needs_no_recursion() {
        let n = 10_001;
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|i| (i, i + 1)).collect();
        let tree = idom(n, &edges);
        assert!((1..n).all(|i| tree[i] == i as u32 - 1));
        let retained = Retained::from_tree(tree, |_| 8);
        assert_eq!(retained.size[0], 8 * n as u64);
        assert_eq!(retained.count[1], n as u32 - 1);
        assert_eq!(retained.size[n - 1], 8);
    }

    proptest! {
        #[test]
        fn dominators_agree_with_the_definition_on_random_graphs(
            n in 1usize..12,
            raw in proptest::collection::vec((0u32..12, 0u32..12), 0..40),
        ) {
            let edges: Vec<(u32, u32)> = raw
                .into_iter()
                .map(|(a, b)| (a % n as u32, b % n as u32))
                .collect();
            prop_assert_eq!(idom(n, &edges), naive(n, &edges));
        }
    }

    // Node types: 1 array, 2 string, 3 object, 5 closure, 9 synthetic. Edge types: 0 context,
    // 1 element, 2 property, 3 internal, 6 weak.

    #[test]
    fn retained_sizes_follow_owning_edges_and_count_strings_but_not_weak_edges() {
        // root -> A(10) -> B(20) -> "s"(5); A -weak-> C(40); root -> D(7) -> B
        let strings = ["", "A", "B", "str", "C", "D", "b", "w", "s"];
        let g = HeapGraph::read(
            snapshot(
                &[
                    [9, 0, 1, 0, 2],
                    [3, 1, 3, 10, 2],
                    [3, 2, 5, 20, 1],
                    [2, 3, 7, 5, 0],
                    [3, 4, 9, 40, 0],
                    [3, 5, 11, 7, 1],
                ],
                &[
                    [1, 0, 1],
                    [1, 1, 5],
                    [2, 6, 2],
                    [6, 7, 4],
                    [2, 8, 3],
                    [2, 6, 2],
                ],
                &strings,
            )
            .as_bytes(),
        )
        .unwrap();
        let r = Retained::compute(&g);
        assert_eq!(r.idom[..6], [NONE, 0, 0, 2, NONE, 0]);
        assert_eq!(r.size[2], 25, "B and its string");
        assert_eq!(r.size[1], 10, "B is shared with D, C only weakly held");
        assert_eq!(r.size[4], 0, "C is not reached");
        assert_eq!(r.count[0], 5);
        assert_eq!(r.size[0], 42);
    }

    #[test]
    fn a_weak_map_value_is_not_retained_by_the_table_through_its_ephemeron_edge() {
        // root -> Map(8) -table-> (array)(16) -[eph]-> V(32); root -> K(4) -> V via the hidden
        // key edge V8 writes (`key -> value`).
        let strings = [
            "",
            "WeakMap",
            "table",
            "V",
            "1 / part of key (K @9) -> value (V @7) pair in WeakMap (table @5)",
            "K",
            "k",
            "m",
        ];
        let g = HeapGraph::read(
            snapshot(
                &[
                    [9, 0, 1, 0, 2],
                    [3, 1, 3, 8, 1],
                    [1, 0, 5, 16, 1],
                    [3, 3, 7, 32, 0],
                    [3, 5, 9, 4, 1],
                ],
                &[[2, 7, 1], [2, 6, 4], [3, 2, 2], [3, 4, 3], [3, 4, 3]],
                &strings,
            )
            .as_bytes(),
        )
        .unwrap();
        let r = Retained::compute(&g);
        assert_eq!(r.idom[3], 4, "the key keeps the value");
        assert_eq!(r.size[1], 24, "the map retains its table, not the value");
        assert_eq!(r.size[4], 36);
    }
}
