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

use super::scope::{self, SlotName};
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
/// scopes, the identity map of a running compilation, and the microtask being run (`(Strong
/// roots) --current_microtask-->`). Searched last of all: a path from them is given only when
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
    if graph.edge_name_str(edge) == Some("current_microtask")
        && graph.node_name_raw(from) == Some("(Strong roots)")
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

/// The shape of a path: node names and edge names, indices as `[x]` (LeakCanary's signature).
fn signature(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        // Array indices, and the numbered slots of hash tables, say nothing about the shape.
        let numbered = !step.edge.is_empty() && step.edge.bytes().all(|b| b.is_ascii_digit());
        let indexed = step.edge.starts_with('[') && step.edge.ends_with(']');
        let edge = if indexed || numbered {
            "[x]"
        } else {
            &step.edge
        };
        out.push_str(edge);
        out.push('\u{1}');
        out.push_str(&step.node);
        out.push('\u{1}');
        out.push_str(&step.node_type);
        out.push('\u{2}');
    }
    out
}

/// Explains `targets`: the shortest path to each, grouped by shape, most common first (ties in
/// the order first seen).
pub fn explain(graph: &HeapGraph, paths: &Paths, targets: &[u32]) -> Explanation {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_shape: HashMap<String, usize> = HashMap::new();
    let mut explained = 0;
    for &target in targets {
        let Some(path) = paths.path(target) else {
            continue;
        };
        explained += 1;
        let steps = steps(graph, paths, &path);
        let shape = signature(&steps);
        match by_shape.get(&shape) {
            Some(&i) => groups[i].count += 1,
            None => {
                by_shape.insert(shape, groups.len());
                groups.push(Group { count: 1, steps });
            }
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    Explanation {
        explained,
        paths: groups,
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

/// Objects (node type `object`) whose class name is `class`.
pub fn objects_of_class(graph: &HeapGraph, class: &str) -> Vec<u32> {
    (0..graph.node_count() as u32)
        .filter(|&n| graph.node_type_name(n) == "object" && graph.node_name_raw(n) == Some(class))
        .collect()
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
        let e = explain(&g, &paths, &[4]);
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
        let e = explain(&g, &paths, &[6]);
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
        // (GC roots) -> (Strong roots) -current_microtask-> Task -> Job (2 steps)
        //            -> (Identity map) -> Job2
        //            -> (Stack roots) -> Job3
        //            -> (Global handles) -> Timer -> Holder -> Job, Job2, Job3 (longer, but wins)
        let strings = [
            "",
            "(GC roots)",
            "(Strong roots)",
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
        assert_eq!(g.node_name(only[1].0), "(Strong roots)");
        assert_eq!(g.edge_name(only[2].1 as usize), "current_microtask");
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
        let e = explain(&g, &paths, &[14, 4, 5]);
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
                "workerLeak (context)",
                "[0] (one of a, list, n) (context)",
                "[1] (one of list, n, list2) (context)"
            ]
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
        let e = explain(&g, &paths, &[4, 5, 6, 8, 0]);
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
    }
}
