//! Dominators and retained sizes: the bytes and objects that would go if a node went.
//!
//! Node `d` dominates `n` when every path from the root to `n` passes through `d`; the retained
//! size of `d` is its own size plus that of every node it dominates. The graph is the snapshot's
//! with only the edges that own (see [`retains`]); the tree is computed by semi-NCA (Georgiadis'
//! simpler variant of Lengauer–Tarjan, near-linear), without recursion, in flat `u32` columns.

use super::snapshot::HeapGraph;

/// No node (the root's dominator, and that of nodes the root does not reach).
pub const NONE: u32 = u32::MAX;

/// Whether the edge from `from` keeps its target alive (the rule, as written; [`Retained`] uses a
/// faster form of it that a test holds to this one): the edges the retainer paths follow
/// ([`meaningful_edge`]), and also strong edges to strings, which a path never needs to go
/// through but which are part of what an object costs (DevTools counts them in retained sizes).
///
/// A WeakMap entry is two edges to its value, both named `part of key (…) -> value (…) pair in
/// WeakMap (table @<id>)`: one from the table, one from the key. The value lives as long as its
/// key does, so the key's edge owns and the table's does not (as in DevTools).
#[cfg(test)]
pub(crate) fn retains(graph: &HeapGraph, from: u32, edge: usize) -> bool {
    let to = graph.edge_to[edge];
    if let Some(table) = graph.edge_name_str(edge).and_then(ephemeron_table) {
        return to != from
            && graph.edge_type_name(edge) != "weak"
            && table != u64::from(graph.node_id(from));
    }
    if super::paths::meaningful_edge(graph, from, edge) {
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

/// A graph in flat lists: the successors of `v` are `targets[first[v]..first[v + 1]]`, where a
/// target of [`NONE`] is an edge not followed.
pub trait Successors {
    fn node_count(&self) -> usize;
    fn edges(&self, node: u32) -> std::ops::Range<usize>;
    fn target(&self, edge: usize) -> u32;
}

/// The dominator tree: the immediate dominator of every node ([`NONE`] for the root and for
/// nodes it does not reach), and the nodes reached in depth-first preorder (every node comes
/// after its dominator).
#[derive(Debug)]
pub struct Tree {
    pub idom: Vec<u32>,
    pub preorder: Vec<u32>,
}

/// Computes the dominator tree of `graph` from `root`.
///
/// Memory: beside the result, at most five `u32` columns of the reached nodes and one `u32` per
/// distinct retainer of a node other than its parent in the search (a node with one retainer
/// needs none). The depth-first search runs twice rather than keep the parents meanwhile.
pub fn dominator_tree(graph: &impl Successors, root: u32) -> Tree {
    let n = graph.node_count();
    // Preorder numbers from 1 (0 is "none") and each node's parent in the search tree.
    let mut order = vec![0u32; n];
    let mut parent: Vec<u32> = vec![0, 0];
    preorder(graph, root, &mut order, |_, from, new| {
        if new {
            parent.push(from);
        }
    });
    let reached = parent.len() - 1;
    // Predecessors by preorder number, without the parent (always one) and without repeats:
    // `first[w]` counts them, then (prefix sums) ends w's list, then, filled backwards, starts it.
    let mut first = vec![0u32; reached + 2];
    let mut last = vec![0u32; reached + 1];
    let mut each_pred = |f: &mut dyn FnMut(usize, u32)| {
        for node in 0..n as u32 {
            let v = order[node as usize];
            if v == 0 {
                continue;
            }
            for e in graph.edges(node) {
                let to = graph.target(e);
                if to == NONE {
                    continue;
                }
                let w = order[to as usize] as usize;
                if parent[w] != v && last[w] != v {
                    last[w] = v;
                    f(w, v);
                }
            }
        }
        last.iter_mut().for_each(|l| *l = 0);
    };
    each_pred(&mut |w, _| first[w] += 1);
    let mut total = 0u32;
    for count in first.iter_mut() {
        total += *count;
        *count = total;
    }
    let mut preds = vec![0u32; total as usize];
    each_pred(&mut |w, v| {
        first[w] -= 1;
        preds[first[w] as usize] = v;
    });
    drop(last);
    drop(order);
    // Semidominators, with a path-compressed forest: `ancestor` starts as the parent and a node
    // is in the forest once processed (greater than the current w). The parent is a predecessor
    // whose semidominator is itself.
    let mut ancestor = parent;
    let mut semi: Vec<u32> = (0..=reached as u32).collect();
    let mut label: Vec<u32> = (0..=reached as u32).collect();
    let mut chain: Vec<u32> = Vec::new();
    for w in (2..=reached).rev() {
        let mut s = ancestor[w];
        for &v in &preds[first[w] as usize..first[w + 1] as usize] {
            let u = eval(v, w as u32, &mut ancestor, &mut label, &semi, &mut chain);
            s = s.min(semi[u as usize]);
        }
        semi[w] = s;
    }
    drop(preds);
    drop(first);
    drop(label);
    // The search again, for the parents and the nodes in preorder.
    let mut vertex: Vec<u32> = Vec::with_capacity(reached + 1);
    vertex.extend([NONE, root]);
    let mut parent: Vec<u32> = Vec::with_capacity(reached + 1);
    parent.extend([0, 0]);
    let mut order = vec![0u32; n];
    preorder(graph, root, &mut order, |to, from, new| {
        if new {
            vertex.push(to);
            parent.push(from);
        }
    });
    drop(order);
    // Immediate dominators: the nearest common ancestor of the parent and the semidominator.
    let mut idom = ancestor;
    for w in 2..=reached {
        let mut d = parent[w];
        while d > semi[w] {
            d = idom[d as usize];
        }
        idom[w] = d;
    }
    drop(semi);
    drop(parent);
    let mut result = vec![NONE; n];
    for w in 2..=reached {
        result[vertex[w] as usize] = vertex[idom[w] as usize];
    }
    vertex.remove(0);
    Tree {
        idom: result,
        preorder: vertex,
    }
}

/// A depth-first search from `root` with an explicit stack of (node, next edge): numbers the
/// nodes in `order` from 1 and calls `visit(to, from, new)` for each followed edge, `from` being
/// the preorder number of the node it leaves and `new` whether `to` is first seen. The root is
/// numbered before any call.
fn preorder(
    graph: &impl Successors,
    root: u32,
    order: &mut [u32],
    mut visit: impl FnMut(u32, u32, bool),
) {
    let mut next = 1u32;
    order[root as usize] = next;
    let mut stack: Vec<(u32, u32)> = vec![(root, graph.edges(root).start as u32)];
    while let Some(top) = stack.last_mut() {
        let (node, cursor) = *top;
        let from = order[node as usize];
        let end = graph.edges(node).end;
        let mut e = cursor as usize;
        let mut pushed = None;
        while e < end {
            let to = graph.target(e);
            e += 1;
            if to == NONE {
                continue;
            }
            let new = order[to as usize] == 0;
            visit(to, from, new);
            if new {
                pushed = Some(to);
                break;
            }
        }
        top.1 = e as u32;
        match pushed {
            Some(to) => {
                next += 1;
                order[to as usize] = next;
                stack.push((to, graph.edges(to).start as u32));
            }
            None => {
                stack.pop();
            }
        }
    }
}

/// Lengauer–Tarjan's EVAL while processing `w` (the nodes after it are in the forest), with the
/// path compression done by a loop instead of recursion.
fn eval(
    v: u32,
    w: u32,
    ancestor: &mut [u32],
    label: &mut [u32],
    semi: &[u32],
    chain: &mut Vec<u32>,
) -> u32 {
    if v <= w {
        return v;
    }
    let mut x = v;
    while ancestor[x as usize] > w {
        chain.push(x);
        x = ancestor[x as usize];
    }
    // Now x's ancestor is the root of its tree in the forest, which stays as it is.
    while let Some(y) = chain.pop() {
        let a = ancestor[y as usize] as usize;
        if semi[label[a] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a];
        }
        ancestor[y as usize] = ancestor[a];
    }
    label[v as usize]
}

/// The edges of a snapshot that own their target ([`retains`]), computed once as bits.
struct Owning<'a> {
    graph: &'a HeapGraph,
    bits: Vec<u64>,
}

impl<'a> Owning<'a> {
    fn new(graph: &'a HeapGraph) -> Self {
        let rule = Rule::new(graph);
        let mut bits = vec![0u64; graph.edge_count().div_ceil(64)];
        for node in 0..graph.node_count() as u32 {
            for e in graph.edges(node) {
                if rule.retains(graph, node, e) {
                    bits[e / 64] |= 1 << (e % 64);
                }
            }
        }
        Self { graph, bits }
    }
}

impl Successors for Owning<'_> {
    fn node_count(&self) -> usize {
        self.graph.node_count()
    }
    fn edges(&self, node: u32) -> std::ops::Range<usize> {
        self.graph.edges(node)
    }
    fn target(&self, edge: usize) -> u32 {
        if self.bits[edge / 64] & (1 << (edge % 64)) != 0 {
            self.graph.edge_to[edge]
        } else {
            NONE
        }
    }
}

/// [`retains`] with the type and name tests done once per type and per string.
struct Rule {
    string_type: Vec<bool>,
    code_type: Vec<bool>,
    weak: Option<u8>,
    internal: Option<u8>,
    hidden: Option<u8>,
    /// Per string: the flags below.
    flags: Vec<u8>,
}

const EPHEMERON: u8 = 1;
const CODE: u8 = 2;
const SLOPPY: u8 = 4;
const NATIVE_CONTEXT: u8 = 8;
const MACHINERY: u8 = 16;

impl Rule {
    fn new(graph: &HeapGraph) -> Self {
        let edge_type = |name: &str| {
            graph
                .edge_types
                .iter()
                .position(|t| t == name)
                .and_then(|i| u8::try_from(i).ok())
        };
        let flags = graph
            .strings
            .iter()
            .map(|s| match s.as_deref() {
                None => 0,
                Some(s) => {
                    let mut f = 0;
                    if s.contains("part of key (") && s.contains("pair in WeakMap") {
                        f |= EPHEMERON;
                    }
                    match s {
                        "code" => f |= CODE,
                        "sloppy_function_map" => f |= SLOPPY,
                        "system / NativeContext" => f |= NATIVE_CONTEXT | MACHINERY,
                        "system / SourcePositionTableWithFrameCache" | "(map descriptors)" => {
                            f |= MACHINERY
                        }
                        _ => {}
                    }
                    f
                }
            })
            .collect();
        Self {
            string_type: graph
                .node_types
                .iter()
                .map(|t| {
                    matches!(
                        t.as_str(),
                        "string" | "concatenated string" | "sliced string"
                    )
                })
                .collect(),
            code_type: graph.node_types.iter().map(|t| t == "code").collect(),
            weak: edge_type("weak"),
            internal: edge_type("internal"),
            hidden: edge_type("hidden"),
            flags,
        }
    }

    /// The flags of the node's name, when a report may show it.
    fn node_flags(&self, graph: &HeapGraph, node: u32) -> u8 {
        graph
            .node_name_raw(node)
            .map_or(0, |_| self.flags[graph.node_name[node as usize] as usize])
    }

    fn retains(&self, graph: &HeapGraph, from: u32, edge: usize) -> bool {
        let to = graph.edge_to[edge];
        if to == from {
            return false;
        }
        let ty = Some(graph.edge_type[edge]);
        let name = if graph.edge_is_indexed(edge) {
            0
        } else {
            self.flags
                .get(graph.edge_name[edge] as usize)
                .copied()
                .unwrap_or(0)
        };
        if name & EPHEMERON != 0 {
            return ty != self.weak
                && graph
                    .edge_name_str(edge)
                    .and_then(ephemeron_table)
                    .is_some_and(|table| table != u64::from(graph.node_id(from)));
        }
        if ty == self.weak {
            return false;
        }
        let to_type = graph.node_type[to as usize] as usize;
        if self.string_type[to_type] {
            return true;
        }
        if (ty == self.internal && name & CODE != 0) || (ty == self.hidden && name & SLOPPY != 0) {
            return false;
        }
        let to_flags = self.node_flags(graph, to);
        if ty == self.hidden && to_flags & NATIVE_CONTEXT != 0 {
            return false;
        }
        !self.code_type[to_type] && to_flags & MACHINERY == 0
    }
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
        let tree = dominator_tree(&Owning::new(graph), 0);
        Self::from_tree(tree, |node| u64::from(graph.self_size(node)))
    }

    /// Retained sizes and counts summed up `tree`, children before parents.
    pub fn from_tree(tree: Tree, self_size: impl Fn(u32) -> u64) -> Self {
        let n = tree.idom.len();
        let mut size = vec![0u64; n];
        let mut count = vec![0u32; n];
        for &v in tree.preorder.iter().rev() {
            size[v as usize] += self_size(v);
            count[v as usize] += 1;
            let d = tree.idom[v as usize];
            if d != NONE {
                size[d as usize] += size[v as usize];
                count[d as usize] += count[v as usize];
            }
        }
        Self {
            idom: tree.idom,
            size,
            count,
        }
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

    struct Lists {
        first: Vec<usize>,
        targets: Vec<u32>,
    }

    impl Successors for Lists {
        fn node_count(&self) -> usize {
            self.first.len() - 1
        }
        fn edges(&self, node: u32) -> std::ops::Range<usize> {
            self.first[node as usize]..self.first[node as usize + 1]
        }
        fn target(&self, edge: usize) -> u32 {
            self.targets[edge]
        }
    }

    fn tree(n: usize, edges: &[(u32, u32)]) -> Tree {
        let adj = csr(n, edges);
        let mut first = vec![0];
        let mut targets = Vec::new();
        for list in &adj {
            targets.extend_from_slice(list);
            first.push(targets.len());
        }
        dominator_tree(&Lists { first, targets }, 0)
    }

    fn idom(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
        tree(n, edges).idom
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
    fn the_fast_rule_agrees_with_the_rule_as_written() {
        let graphs = [
            crate::heap::summary::tests::sample(),
            HeapGraph::read(
                snapshot(
                    &[
                        [9, 0, 1, 0, 3],
                        [3, 1, 3, 8, 2],
                        [4, 2, 5, 0, 0],
                        [3, 3, 7, 0, 1],
                    ],
                    &[
                        [1, 0, 1],
                        [6, 4, 3],
                        [4, 5, 3],
                        [3, 6, 2],
                        [4, 7, 3],
                        [3, 8, 3],
                    ],
                    &[
                        "",
                        "A",
                        "Code",
                        "system / NativeContext",
                        "w",
                        "h",
                        "code",
                        "sloppy_function_map",
                        "1 / part of key (A @3) -> value (X @7) pair in WeakMap (table @3)",
                    ],
                )
                .as_bytes(),
            )
            .unwrap(),
        ];
        for g in &graphs {
            let rule = Rule::new(g);
            let mut differ = Vec::new();
            for node in 0..g.node_count() as u32 {
                for e in g.edges(node) {
                    if rule.retains(g, node, e) != retains(g, node, e) {
                        differ.push(e);
                    }
                }
            }
            assert!(differ.is_empty(), "edges {differ:?}");
        }
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
        let tree = tree(n, &edges);
        assert!((1..n).all(|i| tree.idom[i] == i as u32 - 1));
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
