//! Shortest retainer paths: a breadth-first search from the snapshot's root over the edges that
//! really keep an object alive, and paths grouped by their shape.
//!
//! The edges skipped are those Chrome DevTools and memlab skip for "distance": weak edges, edges
//! to strings, self edges, `code` edges, hidden edges to `system / NativeContext` and
//! `sloppy_function_map`, and nodes that only V8's machinery holds (`(map descriptors)`, code, the
//! native context). A WeakMap's entry edges (`part of key ... pair in WeakMap`) hold a value only
//! while both the map and the key are reached: such a value is reached from the map's table, and
//! its step names the key. Roots are searched in three tiers: the app's (globals, Node's own
//! handles, `(Strong roots)` but for its running microtask) first; V8's synthetic roots that hold
//! nearly everything (`(Global handles)`, `(Internalized strings)`...) next, as memlab and
//! LeakCanary do; roots that hold objects only for a moment (the stack, handle scopes, the
//! identity map, `current_microtask`) last: a path from them is given only when no other exists.
//! Block and catch scopes' variables are named from their ScopeInfo ([`super::scope`]).

use std::collections::{HashMap, VecDeque};

use super::dominators::Retained;
use super::scope::{self, SlotName};
use super::shape::{self, link_of};
use super::snapshot::HeapGraph;

const NONE: u32 = u32::MAX;

/// Sub-roots under `(GC roots)` that hold nearly everything V8 itself uses: searched after every
/// other root.
const SYSTEM_ROOTS: [&str; 6] = [
    "(Global handles)",
    "(Internalized strings)",
    "(External strings)",
    "(Traced handles)",
    "(Eternal handles)",
    "(Startup object cache)",
];

/// Roots that hold objects only for a moment: the stack (a snapshot taken in process always finds
/// the code that asked for it there, with everything its caller's closures can reach), handle
/// scopes, the identity map of a running compilation (also `(Strong roots) --N / IdentityMapBase-->`),
/// and the microtask being run (`(Strong roots) --current_microtask-->`). Searched last of all: a path from them is given only when
/// nothing else holds the object.
const TRANSIENT_ROOTS: [&str; 3] = ["(Stack roots)", "(Handle scope)", "(Identity map)"];

/// Whether an edge name is one of V8's WeakMap entry edges (`N / part of key (..) -> value (..)
/// pair in WeakMap (table @N)`), which hold the value only while the key is alive too.
fn is_ephemeron(name: &str) -> bool {
    name.contains("part of key (") && name.contains("pair in WeakMap")
}

/// The shortest-path tree: for each node, the edge that first reached it (its index), or none.
#[derive(Debug)]
pub struct Paths {
    parent_edge: Vec<u32>,
    parent: Vec<u32>,
    /// How many edges the path to each node has (0 for the root and what it does not reach).
    depth: Vec<u32>,
    /// Values reached through a WeakMap: the value's node and its key's node.
    weak_map_keys: HashMap<u32, u32>,
}

fn meaningful_node(graph: &HeapGraph, node: u32) -> bool {
    let ty = graph.node_type_name(node);
    if ty == "code" {
        return false;
    }
    !matches!(
        graph.node_name_raw(node),
        Some(
            "system / NativeContext"
                | "system / SourcePositionTableWithFrameCache"
                | "(map descriptors)"
        )
    )
}

pub(crate) fn meaningful_edge(graph: &HeapGraph, from: u32, edge: usize) -> bool {
    let to = graph.edge_to[edge];
    if to == from {
        return false;
    }
    let ty = graph.edge_type_name(edge);
    if ty == "weak" {
        return false;
    }
    let to_type = graph.node_type_name(to);
    if matches!(to_type, "string" | "concatenated string" | "sliced string") {
        return false;
    }
    if let Some(name) = graph.edge_name_str(edge) {
        if ty == "internal" && name == "code" {
            return false;
        }
        if ty == "hidden" && name == "sloppy_function_map" {
            return false;
        }
        if is_ephemeron(name) {
            return false;
        }
    }
    if ty == "hidden" && graph.node_name_raw(to) == Some("system / NativeContext") {
        return false;
    }
    meaningful_node(graph, to)
}

/// How late an edge is searched: 0 first, 1 after every ordinary root (V8's own roots), 2 last
/// (roots that hold objects only for a moment).
fn tier(graph: &HeapGraph, gc_roots: Option<u32>, from: u32, edge: usize) -> u8 {
    let to = graph.edge_to[edge];
    if Some(from) == gc_roots {
        match graph.node_name_raw(to) {
            Some(name) if TRANSIENT_ROOTS.contains(&name) => return 2,
            Some(name) if SYSTEM_ROOTS.contains(&name) => return 1,
            _ => {}
        }
    }
    // `(Strong roots)` up to V8 12, `(Strong root list)` in the V8 of Node 24 and later.
    if matches!(
        graph.node_name_raw(from),
        Some("(Strong roots)" | "(Strong root list)")
    ) && graph
        .edge_name_str(edge)
        .is_some_and(|name| name == "current_microtask" || name.ends_with("/ IdentityMapBase"))
    {
        return 2;
    }
    0
}

/// The WeakMap entries of a snapshot: per entry, the two edges V8 writes to its value, one from
/// the map's table and one from the key (same name but for its `N / ` prefix).
fn ephemeron_pairs(graph: &HeapGraph) -> Vec<[(u32, u32); 2]> {
    let mut half: HashMap<&str, (u32, u32)> = HashMap::new();
    let mut pairs = Vec::new();
    for node in 0..graph.node_count() as u32 {
        for edge in graph.edges(node) {
            let Some(name) = graph.edge_name_str(edge) else {
                continue;
            };
            if graph.edge_type_name(edge) != "internal" || !is_ephemeron(name) {
                continue;
            }
            let entry = name.split_once(" / ").map_or(name, |(_, rest)| rest);
            match half.remove(entry) {
                Some(other) => pairs.push([other, (node, edge as u32)]),
                None => {
                    half.insert(entry, (node, edge as u32));
                }
            }
        }
    }
    pairs
}

impl Paths {
    /// Searches from node 0 (the snapshot's root): first from the ordinary roots, then from V8's
    /// own, then from the transient ones; a WeakMap value is reached once both its map and its
    /// key are.
    pub fn search(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let mut paths = Paths {
            parent_edge: vec![NONE; n],
            parent: vec![NONE; n],
            depth: vec![0; n],
            weak_map_keys: HashMap::new(),
        };
        let mut visited = vec![false; n];
        let mut later: Vec<(u8, u32, u32, u32)> = Vec::new();
        let mut queue = VecDeque::new();
        visited[0] = true;
        queue.push_back(0u32);
        let gc_roots = graph
            .edges(0)
            .map(|e| graph.edge_to[e])
            .find(|&to| graph.node_name_raw(to) == Some("(GC roots)"));
        let pairs = ephemeron_pairs(graph);
        let mut pending: Vec<bool> = vec![true; pairs.len()];
        for allowed in 0..=2u8 {
            let mut seeds: Vec<(u32, u32, u32)> = Vec::new();
            later.retain(|&(t, to, from, edge)| {
                if t <= allowed {
                    seeds.push((to, from, edge));
                    false
                } else {
                    true
                }
            });
            for (to, from, edge) in seeds {
                if !visited[to as usize] {
                    visited[to as usize] = true;
                    paths.parent[to as usize] = from;
                    paths.parent_edge[to as usize] = edge;
                    paths.depth[to as usize] = paths.depth[from as usize] + 1;
                    queue.push_back(to);
                }
            }
            loop {
                while let Some(node) = queue.pop_front() {
                    for edge in graph.edges(node) {
                        let to = graph.edge_to[edge];
                        if visited[to as usize] || !meaningful_edge(graph, node, edge) {
                            continue;
                        }
                        let t = tier(graph, gc_roots, node, edge);
                        if t > allowed {
                            later.push((t, to, node, edge as u32));
                            continue;
                        }
                        visited[to as usize] = true;
                        paths.parent[to as usize] = node;
                        paths.parent_edge[to as usize] = edge as u32;
                        paths.depth[to as usize] = paths.depth[node as usize] + 1;
                        queue.push_back(to);
                    }
                }
                // WeakMap values whose map and key are both reached now.
                for (i, pair) in pairs.iter().enumerate() {
                    if !pending[i] {
                        continue;
                    }
                    let [(a, edge_a), (b, edge_b)] = *pair;
                    let value = graph.edge_to[edge_a as usize];
                    if visited[value as usize] {
                        pending[i] = false;
                        continue;
                    }
                    if !visited[a as usize]
                        || !visited[b as usize]
                        || !meaningful_node(graph, value)
                    {
                        continue;
                    }
                    pending[i] = false;
                    // The map's table is the one its map reaches by `table`.
                    let is_table = |node: u32| {
                        let edge = paths.parent_edge[node as usize];
                        edge != NONE && graph.edge_name_str(edge as usize) == Some("table")
                    };
                    let (table, edge, key) = if is_table(b) && !is_table(a) {
                        (b, edge_b, a)
                    } else {
                        (a, edge_a, b)
                    };
                    visited[value as usize] = true;
                    paths.parent[value as usize] = table;
                    paths.parent_edge[value as usize] = edge;
                    paths.depth[value as usize] = paths.depth[table as usize] + 1;
                    paths.weak_map_keys.insert(value, key);
                    queue.push_back(value);
                }
                if queue.is_empty() {
                    break;
                }
            }
        }
        paths
    }

    /// Whether `node` is reachable from the root over meaningful edges.
    pub fn reached(&self, node: u32) -> bool {
        node == 0 || self.parent[node as usize] != NONE
    }

    /// How many edges the shortest path to `node` has (0 for the root and unreached nodes).
    pub fn depth(&self, node: u32) -> u32 {
        self.depth.get(node as usize).copied().unwrap_or(0)
    }

    /// The node and the edge (index) through which the search first reached `node`.
    pub fn parent(&self, node: u32) -> Option<(u32, u32)> {
        let parent = *self.parent.get(node as usize)?;
        (parent != NONE).then(|| (parent, self.parent_edge[node as usize]))
    }

    /// The path from the root to `node`: each node with the edge (index) that leads into it; the
    /// root itself is left out, so the first node is a GC root (or a global object).
    pub fn path(&self, node: u32) -> Option<Vec<(u32, u32)>> {
        if !self.reached(node) || node == 0 {
            return None;
        }
        let mut steps = Vec::new();
        let mut at = node;
        while at != 0 {
            steps.push((at, self.parent_edge[at as usize]));
            at = self.parent[at as usize];
            if steps.len() > self.parent.len() {
                return None;
            }
        }
        steps.reverse();
        Some(steps)
    }
}

/// One step of a retainer path, as a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub node: String,
    pub node_type: String,
    pub edge: String,
    pub edge_type: String,
    /// For a WeakMap value: the key it is stored under, which must be alive too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// The bytes, and the objects, that would be freed if this node went (its dominator subtree);
    /// given on `why` paths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retained_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retained_count: Option<u32>,
    /// A chain: this step (with the `repeat_steps - 1` after it) repeats `repeat` times in a row
    /// along the path, and is given once. Only where it repeats (> 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// With `repeat`, when the unit that repeats is more than this one step: how many steps it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_steps: Option<u32>,
    /// A marker in place of steps of a path too long to show that has no chain to fold: how many
    /// steps of the path it stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<u32>,
}

/// The key of a WeakMap entry, as a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    pub node: String,
    pub node_type: String,
}

/// Paths of one shape and how many explained objects have it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    pub count: u32,
    pub steps: Vec<Step>,
}

/// What a group of target objects is held by.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// Targets with a path from a root.
    pub explained: u32,
    /// Path shapes, most common first.
    pub paths: Vec<Group>,
}

fn step(graph: &HeapGraph, paths: &Paths, from: u32, node: u32, edge: u32) -> Step {
    let edge = edge as usize;
    let mut step = Step {
        node: super::summary::display_name(graph, node),
        node_type: graph.node_type_name(node).to_owned(),
        edge: graph.edge_name(edge),
        edge_type: graph.edge_type_name(edge).to_owned(),
        key: None,
        retained_size: None,
        retained_count: None,
        repeat: None,
        repeat_steps: None,
        omitted: None,
    };
    if let Some(&key) = paths.weak_map_keys.get(&node) {
        // V8's name for this edge carries the value's name, which can be a string's contents.
        let key = Key {
            node: graph.node_name(key),
            node_type: graph.node_type_name(key).to_owned(),
        };
        step.edge = format!("value for its {} key", key.node);
        step.key = Some(key);
    } else if let Some(name) = scope::slot_name(graph, from, edge) {
        step.edge = match name {
            SlotName::Exact(name) => name,
            SlotName::OneOf(names) => format!("{} (one of {})", step.edge, names.join(", ")),
        };
        step.edge_type = "context".to_owned();
    }
    step
}

pub(crate) fn steps(graph: &HeapGraph, paths: &Paths, path: &[(u32, u32)]) -> Vec<Step> {
    let mut from = 0;
    path.iter()
        .map(|&(node, edge)| {
            let step = step(graph, paths, from, node, edge);
            from = node;
            step
        })
        .collect()
}

/// The most steps a path shows once its chains are folded: beyond, the middle of the path is one
/// marker step (with the lines of a report for people, it stays within 40 lines).
pub const MAX_STEPS: usize = 16;

/// The shape of a step, as [`shape`] sees it.
fn step_link(step: &Step) -> u64 {
    link_of(&step.edge, &step.node, &step.node_type)
}

/// Folds the chains of a path (runs of links that repeat, but for the object explained, which
/// stays the last step) into one step each with its `repeat`, and cuts a path still longer than
/// [`MAX_STEPS`] in the middle with a marker step.
pub fn fold(steps: Vec<Step>) -> Vec<Step> {
    let Some(body) = steps.len().checked_sub(1) else {
        return steps;
    };
    let links: Vec<u64> = steps[..body].iter().map(step_link).collect();
    // Per folded step: how many steps of the path it stands for.
    let mut folded: Vec<(Step, usize)> = Vec::with_capacity(steps.len());
    let mut steps = steps.into_iter().map(Some).collect::<Vec<_>>();
    for run in shape::runs(&links) {
        for k in 0..run.period {
            let Some(mut step) = steps[run.start + k].take() else {
                continue;
            };
            if run.repeat > 1 && k == 0 {
                step.repeat = Some(u32::try_from(run.repeat).unwrap_or(u32::MAX));
                step.repeat_steps = (run.period > 1).then_some(run.period as u32);
            }
            folded.push((step, run.repeat));
        }
    }
    if let Some(last) = steps.pop().flatten() {
        folded.push((last, 1));
    }
    if folded.len() > MAX_STEPS {
        let head = MAX_STEPS / 2 - 1;
        let tail = MAX_STEPS - head - 1;
        let cut: Vec<(Step, usize)> = folded.drain(head..folded.len() - tail).collect();
        let omitted = cut.iter().map(|(_, n)| n).sum::<usize>();
        let marker = Step {
            node: String::new(),
            node_type: "omitted".to_owned(),
            edge: String::new(),
            edge_type: "omitted".to_owned(),
            key: None,
            retained_size: None,
            retained_count: None,
            repeat: None,
            repeat_steps: None,
            omitted: Some(u32::try_from(omitted).unwrap_or(u32::MAX)),
        };
        folded.insert(head, (marker, omitted));
    }
    folded.into_iter().map(|(step, _)| step).collect()
}

/// Explains up to `limit` of `targets`: those with the shortest paths (ties in node order), each
/// path's chains folded, grouped by shape (paths that differ only in indices or in how often a
/// chain repeats are one group), most common first (ties in the order first seen). A group shows
/// its longest path, where its chains are longest; with `retained`, each step carries the size
/// and count of what it retains.
pub fn explain(
    graph: &HeapGraph,
    paths: &Paths,
    retained: Option<&Retained>,
    targets: &[u32],
    limit: usize,
) -> Explanation {
    let mut chosen: Vec<u32> = targets
        .iter()
        .copied()
        .filter(|&t| t != 0 && paths.reached(t))
        .collect();
    chosen.sort_unstable_by_key(|&t| (paths.depth(t), t));
    chosen.dedup();
    chosen.truncate(limit);
    // (count, example node, its path's length), by signature.
    let mut groups: Vec<(u32, u32, usize)> = Vec::new();
    let mut by_shape: HashMap<u64, usize> = HashMap::new();
    let mut explained = 0;
    // The shape of the link into each node on the way, once per node (chains share them).
    let mut link_memo: HashMap<u32, u64> = HashMap::new();
    for &target in &chosen {
        let Some(path) = paths.path(target) else {
            continue;
        };
        explained += 1;
        let links: Vec<u64> = path
            .iter()
            .map(|&(node, edge)| {
                *link_memo.entry(node).or_insert_with(|| {
                    let from = paths.parent(node).map_or(0, |(parent, _)| parent);
                    step_link(&step(graph, paths, from, node, edge))
                })
            })
            .collect();
        let shape = shape::signature(&links);
        match by_shape.get(&shape) {
            Some(&i) => {
                let group = &mut groups[i];
                group.0 += 1;
                if path.len() > group.2 {
                    (group.1, group.2) = (target, path.len());
                }
            }
            None => {
                by_shape.insert(shape, groups.len());
                groups.push((1, target, path.len()));
            }
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.0));
    let paths = groups
        .into_iter()
        .filter_map(|(count, example, _)| {
            let path = paths.path(example)?;
            let mut steps = steps(graph, paths, &path);
            if let Some(retained) = retained {
                for (step, &(node, _)) in steps.iter_mut().zip(&path) {
                    step.retained_size = retained.size.get(node as usize).copied();
                    step.retained_count = retained.count.get(node as usize).copied();
                }
            }
            Some(Group {
                count,
                steps: fold(steps),
            })
        })
        .collect();
    Explanation { explained, paths }
}

/// Keeps, of several explanations, the groups that fit in about `budget` bytes of JSON (with room
/// for a text as long as each group's steps): the most common group of each explanation first,
/// then the second of each, and so on. `explained` stays as it was.
pub fn within(explanations: &mut [Explanation], budget: usize) {
    let mut used = 0;
    let mut keep = vec![0; explanations.len()];
    let rounds = explanations
        .iter()
        .map(|e| e.paths.len())
        .max()
        .unwrap_or(0);
    'rounds: for rank in 0..rounds {
        for (i, e) in explanations.iter().enumerate() {
            let Some(group) = e.paths.get(rank) else {
                continue;
            };
            let cost = serde_json::to_string(group).map_or(usize::MAX / 4, |s| s.len()) * 2 + 512;
            if used + cost > budget {
                break 'rounds;
            }
            used += cost;
            keep[i] = rank + 1;
        }
    }
    for (e, keep) in explanations.iter_mut().zip(keep) {
        e.paths.truncate(keep);
    }
}

/// The nodes that the weak collections held by the probe object point at: the probe is an object
/// of class `probe_class` whose property `sets` is an array of `WeakSet`s, one per group. Returns
/// one list of target nodes per array index, or `None` when no probe is in the snapshot.
pub fn probe_targets(graph: &HeapGraph, probe_class: &str) -> Option<Vec<Vec<u32>>> {
    let probe = (0..graph.node_count() as u32).find(|&n| {
        graph.node_type_name(n) == "object" && graph.node_name_raw(n) == Some(probe_class)
    })?;
    let child = |node: u32, name: &str| {
        graph
            .edges(node)
            .find(|&e| graph.edge_name_str(e) == Some(name))
            .map(|e| graph.edge_to[e])
    };
    let sets = child(probe, "sets")?;
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for edge in graph.edges(sets) {
        if graph.edge_type_name(edge) != "element" {
            continue;
        }
        let index = graph.edge_name[edge] as usize;
        if groups.len() <= index {
            groups.resize(index + 1, Vec::new());
        }
        let set = graph.edge_to[edge];
        if let Some(table) = child(set, "table") {
            for e in graph.edges(table) {
                if graph.edge_type_name(e) == "weak" {
                    groups[index].push(graph.edge_to[e]);
                }
            }
        }
    }
    Some(groups)
}

/// Objects whose class is `class`; when there are none, functions named `class` (a function made
/// by a factory, such as the `debug` package's instances, has its inner function's name; a class's
/// constructor, which shares its instances' name, is not one of them).
pub fn objects_of_class(graph: &HeapGraph, class: &str) -> Vec<u32> {
    let of_type = |ty: &str| -> Vec<u32> {
        (0..graph.node_count() as u32)
            .filter(|&n| graph.node_type_name(n) == ty && graph.node_name_raw(n) == Some(class))
            .collect()
    };
    let objects = of_type("object");
    if objects.is_empty() {
        of_type("closure")
    } else {
        objects
    }
}

/// The node whose snapshot id is `id`.
pub fn node_of_id(graph: &HeapGraph, id: u32) -> Option<u32> {
    graph
        .node_id
        .iter()
        .position(|&n| n == id)
        .map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::snapshot::tests::snapshot;

    // Node types: 0 hidden, 1 array, 2 string, 3 object, 4 code, 5 closure, 9 synthetic.
    // Edge types: 0 context, 1 element, 2 property, 3 internal, 4 hidden, 5 shortcut, 6 weak.

    fn graph(nodes: &[[u32; 5]], edges: &[[u32; 3]], strings: &[&str]) -> HeapGraph {
        HeapGraph::read(snapshot(nodes, edges, strings).as_bytes()).unwrap()
    }

    #[test]
    fn finds_the_shortest_strong_path_and_skips_weak_edges() {
        // 0 root -[1]-> 1 (GC roots) -[1]-> 2 (Stack roots) -"cache"-> 3 Array -[0]-> 4 Session
        // 2 -weak-> 4 is shorter but weak.
        let strings = [
            "",
            "(GC roots)",
            "(Stack roots)",
            "Array",
            "Session",
            "cache",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 2, 0, 1],
                [9, 2, 3, 0, 2],
                [1, 3, 4, 0, 1],
                [3, 4, 5, 0, 0],
            ],
            &[[1, 1, 1], [1, 1, 2], [6, 5, 4], [2, 5, 3], [1, 0, 4]],
            &strings,
        );
        let paths = Paths::search(&g);
        let e = explain(&g, &paths, None, &[4], usize::MAX);
        assert_eq!(e.explained, 1);
        let names: Vec<_> = e.paths[0]
            .steps
            .iter()
            .map(|s| format!("{}:{}", s.edge, s.node))
            .collect();
        assert_eq!(
            names,
            [
                "[1]:(GC roots)",
                "[1]:(Stack roots)",
                "cache:Array",
                "[0]:Session"
            ]
        );
    }

    #[test]
    fn paths_through_global_handles_are_given_only_when_nothing_else_holds_the_object() {
        // (GC roots) has (Global handles) -> 5 Session directly, and (Strong roots) -> holder -> 5
        // (longer). The longer, app-level path wins; 6 is held only by a global handle.
        let strings = [
            "",
            "(GC roots)",
            "(Global handles)",
            "(Strong roots)",
            "Holder",
            "Session",
            "s",
            "Lonely",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 2, 0, 2],
                [9, 2, 3, 0, 2],
                [9, 3, 4, 0, 1],
                [3, 4, 5, 0, 1],
                [3, 5, 6, 0, 0],
                [3, 7, 7, 0, 0],
            ],
            &[
                [1, 1, 1],
                [1, 1, 2],
                [1, 2, 3],
                [1, 1, 5],
                [1, 2, 6],
                [2, 6, 4],
                [2, 6, 5],
            ],
            &strings,
        );
        let paths = Paths::search(&g);
        let held = paths.path(5).unwrap();
        assert_eq!(g.node_name(held[1].0), "(Strong roots)");
        let lonely = paths.path(6).unwrap();
        assert_eq!(g.node_name(lonely[1].0), "(Global handles)");
    }

    #[test]
    fn weak_map_ephemeron_edges_and_code_do_not_retain() {
        let strings = [
            "",
            "(GC roots)",
            "Table",
            "Value",
            "1 / part of key (A @1) -> value (Value @3) pair in WeakMap (table @2)",
            "code",
            "Code",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 2, 0, 2],
                [1, 2, 3, 0, 1],
                [3, 3, 4, 0, 0],
                [4, 6, 5, 0, 0],
            ],
            &[[1, 1, 1], [1, 0, 2], [3, 5, 4], [3, 4, 3]],
            &strings,
        );
        let paths = Paths::search(&g);
        assert!(
            !paths.reached(3),
            "only an ephemeron edge leads to the value"
        );
        assert!(!paths.reached(4), "code nodes are not part of paths");
    }

    #[test]
    fn a_weak_map_value_is_held_through_its_map_and_key_while_both_live() {
        // (GC roots) -> Holder -map-> WeakMap -table-> (table) -weak-> Key, -weak-> Value,
        //   -ephemeron-> Value; Holder -key-> Key -ephemeron-> Value.
        // Value2's key (Dead) is reached by nothing: Value2 stays unexplained.
        let pair =
            "3 / part of key (Key @11) -> value (secret-value @13) pair in WeakMap (table @9)";
        let pair_key =
            "5 / part of key (Key @11) -> value (secret-value @13) pair in WeakMap (table @9)";
        let dead = "7 / part of key (Dead @17) -> value (Value @15) pair in WeakMap (table @9)";
        let dead_key = "2 / part of key (Dead @17) -> value (Value @15) pair in WeakMap (table @9)";
        let strings = [
            "",
            "(GC roots)",
            "Holder",
            "WeakMap",
            "",
            "Key",
            "Value",
            "map",
            "table",
            "key",
            pair,
            pair_key,
            "Dead",
            dead,
            dead_key,
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],   // 0 root
                [9, 1, 3, 0, 1],   // 1 (GC roots)
                [3, 2, 5, 0, 2],   // 2 Holder
                [3, 3, 7, 0, 1],   // 3 WeakMap
                [1, 4, 9, 0, 6],   // 4 table
                [3, 5, 11, 0, 1],  // 5 Key
                [3, 6, 13, 0, 0],  // 6 Value
                [3, 6, 15, 0, 0],  // 7 Value2
                [3, 12, 17, 0, 1], // 8 Dead
            ],
            &[
                [1, 0, 1],
                [1, 0, 2],
                [2, 7, 3],
                [2, 9, 5],
                [3, 8, 4],
                [6, 1, 5],
                [6, 2, 6],
                [3, 10, 6],
                [6, 3, 8],
                [6, 4, 7],
                [3, 13, 7],
                [3, 11, 6],
                [3, 14, 7],
            ],
            &strings,
        );
        let paths = Paths::search(&g);
        assert!(!paths.reached(7), "its key is dead");
        let e = explain(&g, &paths, None, &[6], usize::MAX);
        assert_eq!(e.explained, 1);
        let last = e.paths[0].steps.last().unwrap();
        assert_eq!(last.edge, "value for its Key key");
        assert_eq!(last.key.as_ref().map(|k| k.node.as_str()), Some("Key"));
        let names: Vec<_> = e.paths[0].steps.iter().map(|s| s.node.as_str()).collect();
        assert_eq!(names, ["(GC roots)", "Holder", "WeakMap", "", "Value"]);
        assert!(
            !serde_json::to_string(&e).unwrap().contains("secret"),
            "V8's name of the entry edge, which carries the value's name, is not shown"
        );
    }

    #[test]
    fn the_running_microtask_the_identity_map_and_the_stack_are_searched_after_every_other_root() {
        // V8 12 and earlier call the root `(Strong roots)`, the V8 of Node 24 `(Strong root list)`.
        for strong in ["(Strong roots)", "(Strong root list)"] {
            // (GC roots) -> (Strong roots) -current_microtask-> Task -> Job (2 steps)
            //            -> (Identity map) -> Job2
            //            -> (Stack roots) -> Job3
            //            -> (Global handles) -> Timer -> Holder -> Job, Job2, Job3 (longer, but wins)
            let strings = [
                "",
                "(GC roots)",
                strong,
                "(Identity map)",
                "(Stack roots)",
                "(Global handles)",
                "Task",
                "Job",
                "Timer",
                "Holder",
                "current_microtask",
                "a",
                "b",
                "c",
                "t",
                "h",
            ];
            let g = graph(
                &[
                    [9, 0, 1, 0, 1],  // 0 root
                    [9, 1, 2, 0, 4],  // 1 (GC roots)
                    [9, 2, 3, 0, 1],  // 2 (Strong roots)
                    [9, 3, 4, 0, 1],  // 3 (Identity map)
                    [9, 4, 5, 0, 1],  // 4 (Stack roots)
                    [9, 5, 6, 0, 1],  // 5 (Global handles)
                    [3, 6, 7, 0, 2],  // 6 Task
                    [3, 7, 8, 0, 0],  // 7 Job
                    [3, 7, 9, 0, 0],  // 8 Job2
                    [3, 7, 10, 0, 0], // 9 Job3
                    [3, 8, 11, 0, 1], // 10 Timer
                    [3, 9, 12, 0, 3], // 11 Holder
                    [3, 7, 13, 0, 0], // 12 Job4, held only by the running microtask
                ],
                &[
                    [1, 0, 1],
                    [1, 0, 2],
                    [1, 1, 3],
                    [1, 2, 4],
                    [1, 3, 5],
                    [3, 10, 6],
                    [2, 12, 8],
                    [2, 13, 9],
                    [2, 14, 10],
                    [2, 11, 7],
                    [2, 12, 12],
                    [2, 15, 11],
                    [2, 11, 7],
                    [2, 12, 8],
                    [2, 13, 9],
                ],
                &strings,
            );
            let paths = Paths::search(&g);
            for job in [7, 8, 9] {
                let path = paths.path(job).unwrap();
                assert_eq!(g.node_name(path[1].0), "(Global handles)", "job {job}");
            }
            let only = paths.path(12).unwrap();
            assert_eq!(g.node_name(only[1].0), strong);
            assert_eq!(g.edge_name(only[2].1 as usize), "current_microtask");
        }
    }

    #[test]
    fn the_slots_of_a_block_scope_are_named_from_its_scope_info() {
        // Block context: scope_info names [a, list, n, list2]; hidden [0] -> Array, [1] -> Array2.
        // Edges [0] and [1] with 4 names: 2 slots have no heap object, so [0] is a, list or n.
        // An exact context: names [Job, workerLeak], hidden [1] -> Array.
        let strings = [
            "",
            "(GC roots)",
            "system / Context",
            "system / ScopeInfo",
            "Array",
            "a",
            "list",
            "n",
            "list2",
            "scope_info",
            "Job",
            "workerLeak",
            "f",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],   // 0 root
                [9, 1, 2, 0, 2],   // 1 (GC roots)
                [3, 2, 3, 0, 3],   // 2 block context
                [4, 3, 4, 0, 4],   // 3 its scope info
                [1, 4, 5, 0, 0],   // 4 Array
                [1, 4, 6, 0, 0],   // 5 Array2
                [2, 5, 7, 0, 0],   // 6 "a"
                [2, 6, 8, 0, 0],   // 7 "list"
                [2, 7, 9, 0, 0],   // 8 "n"
                [2, 8, 10, 0, 0],  // 9 "list2"
                [3, 2, 11, 0, 2],  // 10 exact context
                [4, 3, 12, 0, 2],  // 11 its scope info
                [2, 10, 13, 0, 0], // 12 "Job"
                [2, 11, 14, 0, 0], // 13 "workerLeak"
                [1, 4, 15, 0, 0],  // 14 Array3
            ],
            &[
                [1, 0, 1],
                [1, 0, 2],
                [1, 1, 10],
                [3, 9, 3],
                [4, 0, 4],
                [4, 1, 5],
                [4, 0, 6],
                [4, 1, 7],
                [4, 2, 8],
                [4, 3, 9],
                [3, 9, 11],
                [4, 1, 14],
                [4, 0, 12],
                [4, 1, 13],
            ],
            &strings,
        );
        let paths = Paths::search(&g);
        let e = explain(&g, &paths, None, &[14, 4, 5], usize::MAX);
        let edges: Vec<_> = e
            .paths
            .iter()
            .map(|p| {
                let s = p.steps.last().unwrap();
                format!("{} ({})", s.edge, s.edge_type)
            })
            .collect();
        assert_eq!(
            edges,
            [
                "[0] (one of a, list, n) (context)",
                "[1] (one of list, n, list2) (context)",
                "workerLeak (context)",
            ],
            "paths as short, in node order"
        );
    }

    #[test]
    fn objects_with_the_same_shape_of_path_are_one_group() {
        // Three sessions in one array, one in a map-like object.
        let strings = [
            "",
            "(GC roots)",
            "(Stack roots)",
            "Array",
            "Session",
            "list",
            "Store",
            "byId",
            "x1",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 2, 0, 1],
                [9, 2, 3, 0, 2],
                [1, 3, 4, 0, 3],
                [3, 4, 5, 0, 0],
                [3, 4, 6, 0, 0],
                [3, 4, 7, 0, 0],
                [3, 6, 8, 0, 1],
                [3, 4, 9, 0, 0],
            ],
            &[
                [1, 1, 1],
                [1, 1, 2],
                [2, 5, 3],
                [2, 7, 7],
                [1, 0, 4],
                [1, 1, 5],
                [1, 2, 6],
                [2, 8, 8],
            ],
            &strings,
        );
        let paths = Paths::search(&g);
        let e = explain(&g, &paths, None, &[4, 5, 6, 8, 0], usize::MAX);
        assert_eq!(e.explained, 4);
        assert_eq!(e.paths.len(), 2);
        assert_eq!(e.paths[0].count, 3);
        assert_eq!(e.paths[0].steps[3].edge, "[0]");
        assert_eq!(e.paths[1].count, 1);
        assert_eq!(e.paths[1].steps[3].edge, "x1");
    }

    #[test]
    fn finds_the_probe_targets_through_its_weak_sets() {
        // Probe -sets-> Array -[0]-> WeakSet -table-> (array) -weak-> T1, -weak-> T2
        //                     -[1]-> WeakSet -table-> (array) (empty)
        let strings = ["", "Probe", "sets", "Array", "WeakSet", "table", "", "T"];
        let g = graph(
            &[
                [9, 0, 1, 0, 0],
                [3, 1, 2, 0, 1],
                [1, 3, 3, 0, 2],
                [3, 4, 4, 0, 1],
                [1, 6, 5, 0, 2],
                [3, 7, 6, 0, 0],
                [3, 7, 7, 0, 0],
                [3, 4, 8, 0, 1],
                [1, 6, 9, 0, 0],
            ],
            &[
                [2, 2, 2],
                [1, 0, 3],
                [1, 1, 7],
                [3, 5, 4],
                [6, 3, 5],
                [6, 5, 6],
                [3, 5, 8],
            ],
            &strings,
        );
        assert_eq!(probe_targets(&g, "Probe"), Some(vec![vec![5, 6], vec![]]));
        assert_eq!(probe_targets(&g, "Nope"), None);
        assert_eq!(objects_of_class(&g, "T"), vec![5, 6]);
        assert_eq!(objects_of_class(&g, "WeakSet"), vec![3, 7]);
        assert_eq!(
            objects_of_class(&g, "Probe").len(),
            1,
            "the instance, not its constructor"
        );
    }

    /// root -> (GC roots) -> List -head-> Node -next-> Node ... (`n` nodes), each 40 bytes; with
    /// `distinct`, each link has its own property name (`p0`, `p1`...), so nothing repeats.
    fn chain(n: u32, distinct: bool) -> (HeapGraph, Vec<u32>) {
        let mut strings: Vec<String> = ["", "(GC roots)", "List", "Node", "head", "next", "debug"]
            .map(String::from)
            .to_vec();
        let mut nodes = vec![[9, 0, 1, 0, 1], [9, 1, 3, 0, 1], [3, 2, 5, 16, 1]];
        let mut edges = vec![[1, 0, 1], [1, 0, 2], [2, 4, 3]];
        for k in 0..n {
            nodes.push([3, 3, 7 + 2 * k, 40, u32::from(k + 1 < n)]);
            if k + 1 < n {
                let name = if distinct {
                    strings.push(format!("p{k}"));
                    strings.len() as u32 - 1
                } else {
                    5
                };
                edges.push([2, name, 4 + k]);
            }
        }
        let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
        let g = HeapGraph::read(snapshot(&nodes, &edges, &strings).as_bytes()).unwrap();
        (g, (3..3 + n).collect())
    }

    #[test]
    fn a_chain_of_ten_thousand_links_is_one_step_with_a_repeat_count() {
        let (g, nodes) = chain(10_000, false);
        let paths = Paths::search(&g);
        let retained = Retained::compute(&g);
        let last = *nodes.last().unwrap();
        let e = explain(&g, &paths, Some(&retained), &[last], 1);
        assert_eq!(e.explained, 1);
        let steps = &e.paths[0].steps;
        let shown: Vec<_> = steps
            .iter()
            .map(|s| format!("{}:{}:{:?}", s.edge, s.node, s.repeat))
            .collect();
        assert_eq!(
            shown,
            [
                "[0]:(GC roots):None",
                "[0]:List:None",
                "head:Node:None",
                "next:Node:Some(9998)",
                "next:Node:None"
            ]
        );
        let list = &steps[1];
        assert_eq!(
            (list.retained_size, list.retained_count),
            (Some(16 + 40 * 10_000), Some(10_001))
        );
        assert_eq!(steps[3].retained_size, Some(40 * 9_999));
        assert_eq!(steps[4].retained_count, Some(1));
        assert!(serde_json::to_string(&e).unwrap().len() < 2_000);
    }

    #[test]
    fn the_objects_explained_are_those_with_the_shortest_paths_and_chains_of_any_length_are_one_group(
    ) {
        let (g, nodes) = chain(1_000, false);
        let paths = Paths::search(&g);
        let mut targets = nodes.clone();
        targets.reverse();
        let e = explain(&g, &paths, None, &targets, 20);
        assert_eq!(e.explained, 20);
        let groups: Vec<_> = e
            .paths
            .iter()
            .map(|p| (p.count, p.steps.iter().filter_map(|s| s.repeat).max()))
            .collect();
        // The head alone, and the 19 after it, shown by the longest (a chain of 18, then the
        // object).
        assert_eq!(groups, [(19, Some(18)), (1, None)]);
        assert_eq!(
            e.paths[1].steps.last().map(|s| s.edge.as_str()),
            Some("head")
        );
    }

    #[test]
    fn a_long_path_with_nothing_to_fold_is_cut_in_the_middle_with_a_marker() {
        let (g, nodes) = chain(40, true);
        let paths = Paths::search(&g);
        let e = explain(&g, &paths, None, &[*nodes.last().unwrap()], 1);
        let steps = &e.paths[0].steps;
        assert_eq!(steps.len(), MAX_STEPS);
        let marker = &steps[MAX_STEPS / 2 - 1];
        // 42 steps (two roots, the list, 39 links), 15 shown.
        assert_eq!(
            (marker.node_type.as_str(), marker.omitted),
            ("omitted", Some(42 - 15))
        );
        assert_eq!(steps.last().map(|s| s.edge.as_str()), Some("p38"));
        assert_eq!(steps.iter().filter(|s| s.omitted.is_some()).count(), 1);
    }

    #[test]
    fn groups_beyond_the_budget_are_left_out_most_common_of_each_explanation_first() {
        let (g, nodes) = chain(60, true);
        let paths = Paths::search(&g);
        // Every node has its own shape: 60 groups of one.
        let e = explain(&g, &paths, None, &nodes, usize::MAX);
        assert_eq!((e.explained, e.paths.len()), (60, 60));
        let mut two = [e.clone(), e];
        within(&mut two, 20_000);
        let json = serde_json::to_string(&two).unwrap();
        assert!(json.len() * 2 <= 20_000, "{}", json.len());
        assert!(!two[0].paths.is_empty());
        assert!(two[0].paths.len().abs_diff(two[1].paths.len()) <= 1);
        assert_eq!(two[1].explained, 60);
    }

    #[test]
    fn a_class_name_finds_functions_of_that_name_when_no_object_has_it() {
        // Two functions named debug (made by one factory), one object of class List.
        let strings = ["", "(GC roots)", "List", "debug", "a", "b"];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 3, 0, 1],
                [3, 2, 5, 16, 2],
                [5, 3, 7, 32, 0],
                [5, 3, 9, 32, 0],
            ],
            &[[1, 0, 1], [1, 0, 2], [2, 4, 3], [2, 5, 4]],
            &strings,
        );
        assert_eq!(objects_of_class(&g, "debug"), [3, 4]);
        assert_eq!(objects_of_class(&g, "List"), [2]);
        assert_eq!(node_of_id(&g, 9), Some(4));
        assert_eq!(node_of_id(&g, 8), None);
    }

    #[test]
    fn the_identity_map_under_strong_roots_is_searched_last_too() {
        // (GC roots) -> (Strong roots) -"151 / IdentityMapBase"-> Context -job-> Job (3 steps)
        //            -> Holder -a-> Box -b-> Job (4 steps, but wins)
        let strings = [
            "",
            "(GC roots)",
            "(Strong roots)",
            "system / Context",
            "Job",
            "Holder",
            "Box",
            "151 / IdentityMapBase",
            "job",
            "a",
            "b",
        ];
        let g = graph(
            &[
                [9, 0, 1, 0, 1],
                [9, 1, 3, 0, 2],
                [9, 2, 5, 0, 1],
                [3, 3, 7, 0, 1],
                [3, 4, 9, 0, 0],
                [3, 5, 11, 0, 1],
                [3, 6, 13, 0, 1],
            ],
            &[
                [1, 0, 1],
                [1, 0, 2],
                [1, 1, 5],
                [3, 7, 3],
                [0, 8, 4],
                [2, 9, 6],
                [2, 10, 4],
            ],
            &strings,
        );
        let paths = Paths::search(&g);
        let names: Vec<_> = paths
            .path(4)
            .unwrap()
            .iter()
            .map(|&(n, _)| g.node_name(n))
            .collect();
        assert_eq!(names, ["(GC roots)", "Holder", "Box", "Job"]);
    }
}
