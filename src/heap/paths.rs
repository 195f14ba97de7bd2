//! Shortest retainer paths: a breadth-first search from the snapshot's root over the edges that
//! really keep an object alive, and paths grouped by their shape.
//!
//! The edges skipped are those Chrome DevTools and memlab skip for "distance": weak edges, edges
//! to strings, self edges, `code` edges, hidden edges to `system / NativeContext` and
//! `sloppy_function_map`, the ephemeron edges of a WeakMap's table (`part of key ... pair in
//! WeakMap`), and nodes that only V8's machinery holds (`(map descriptors)`, code, the native
//! context). V8's synthetic roots that hold nearly everything (`(Global handles)`,
//! `(Internalized strings)`, handle scopes...) are searched last, as memlab and LeakCanary do: a
//! path through them is given only when no other exists.

use std::collections::{HashMap, VecDeque};

use super::snapshot::HeapGraph;

const NONE: u32 = u32::MAX;

/// Sub-roots under `(GC roots)` that are searched only after every other root. `(Stack roots)` is
/// among them because a snapshot taken in process always finds the code that asked for it on the
/// stack, with everything its caller's closures can reach.
const LAST_ROOTS: [&str; 8] = [
    "(Stack roots)",
    "(Global handles)",
    "(Internalized strings)",
    "(External strings)",
    "(Handle scope)",
    "(Traced handles)",
    "(Eternal handles)",
    "(Startup object cache)",
];

/// The shortest-path tree: for each node, the edge that first reached it (its index), or none.
#[derive(Debug)]
pub struct Paths {
    parent_edge: Vec<u32>,
    parent: Vec<u32>,
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
        if name.contains("part of key (") && name.contains("pair in WeakMap") {
            return false;
        }
    }
    if ty == "hidden" && graph.node_name_raw(to) == Some("system / NativeContext") {
        return false;
    }
    meaningful_node(graph, to)
}

impl Paths {
    /// Searches from node 0 (the snapshot's root).
    pub fn search(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let mut paths = Paths {
            parent_edge: vec![NONE; n],
            parent: vec![NONE; n],
        };
        let mut visited = vec![false; n];
        let mut later: Vec<(u32, u32, u32)> = Vec::new();
        let mut queue = VecDeque::new();
        visited[0] = true;
        queue.push_back(0u32);
        let gc_roots = graph
            .edges(0)
            .map(|e| graph.edge_to[e])
            .find(|&to| graph.node_name_raw(to) == Some("(GC roots)"));
        let search = |queue: &mut VecDeque<u32>,
                      visited: &mut Vec<bool>,
                      later: &mut Vec<(u32, u32, u32)>,
                      paths: &mut Paths,
                      defer: bool| {
            while let Some(node) = queue.pop_front() {
                for edge in graph.edges(node) {
                    let to = graph.edge_to[edge];
                    if visited[to as usize] || !meaningful_edge(graph, node, edge) {
                        continue;
                    }
                    if defer
                        && Some(node) == gc_roots
                        && graph
                            .node_name_raw(to)
                            .is_some_and(|name| LAST_ROOTS.contains(&name))
                    {
                        later.push((to, node, edge as u32));
                        continue;
                    }
                    visited[to as usize] = true;
                    paths.parent[to as usize] = node;
                    paths.parent_edge[to as usize] = edge as u32;
                    queue.push_back(to);
                }
            }
        };
        search(&mut queue, &mut visited, &mut later, &mut paths, true);
        for (root, from, edge) in std::mem::take(&mut later) {
            if visited[root as usize] {
                continue;
            }
            visited[root as usize] = true;
            paths.parent[root as usize] = from;
            paths.parent_edge[root as usize] = edge;
            queue.push_back(root);
            search(&mut queue, &mut visited, &mut later, &mut paths, false);
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

fn steps(graph: &HeapGraph, path: &[(u32, u32)]) -> Vec<Step> {
    path.iter()
        .map(|&(node, edge)| Step {
            node: graph.node_name(node),
            node_type: graph.node_type_name(node).to_owned(),
            edge: graph.edge_name(edge as usize),
            edge_type: graph.edge_type_name(edge as usize).to_owned(),
        })
        .collect()
}

/// The shape of a path: node names and edge names, indices as `[x]` (LeakCanary's signature).
fn signature(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        // Array indices, and the numbered slots of hash tables, say nothing about the shape.
        let numbered = !step.edge.is_empty() && step.edge.bytes().all(|b| b.is_ascii_digit());
        let edge = if step.edge.starts_with('[') || numbered {
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
        let steps = steps(graph, &path);
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
