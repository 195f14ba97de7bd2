//! What a snapshot holds, by class (the DevTools Summary view), and the largest retainers.
//!
//! A node's class is its name for objects and native nodes (with the rule on names of
//! [`HeapGraph::node_name`]) and its type in parentheses for the rest: `(closure)`, `(array)`,
//! `(string)`, `(system)`, `(compiled code)`... as DevTools groups them. A class's retained size
//! counts each instance that no other instance of the class dominates, so nothing twice.

use std::collections::HashMap;

use serde::Serialize;

use super::dominators::{Retained, NONE};
use super::paths::{Paths, Step};
use super::snapshot::HeapGraph;

/// One class of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassRow {
    pub name: String,
    pub count: u64,
    pub shallow_size: u64,
    pub retained_size: u64,
}

/// One of the largest retainers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retainer {
    pub id: u32,
    pub name: String,
    pub node_type: String,
    /// Where a function was written: `file:line:column` (from 1), when the snapshot says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub self_size: u64,
    pub retained_size: u64,
    pub retained_count: u32,
    /// The shortest path from a root that keeps it alive.
    pub path: Vec<Step>,
}

/// The answer of `top`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Top {
    pub node_count: u64,
    pub edge_count: u64,
    /// Bytes of every node, and of the nodes the root reaches.
    pub total_size: u64,
    pub reachable_size: u64,
    pub reachable_count: u64,
    pub retainers: Vec<Retainer>,
    pub classes: Vec<ClassRow>,
}

/// How DevTools names the nodes of a type that has no classes.
fn type_class(ty: &str) -> &str {
    match ty {
        "hidden" => "(system)",
        "array" => "(array)",
        "string" | "concatenated string" | "sliced string" => "(string)",
        "code" => "(compiled code)",
        "closure" => "(closure)",
        "regexp" => "(regexp)",
        "number" => "(number)",
        "synthetic" => "(synthetic)",
        "object shape" => "(object shape)",
        "symbol" => "(symbol)",
        "bigint" => "(bigint)",
        _ => "(other)",
    }
}

/// The class of every node, as indices into the returned names.
pub fn classes(graph: &HeapGraph) -> (Vec<u32>, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut by_name: HashMap<u32, u32> = HashMap::new();
    let mut by_type: Vec<Option<u32>> = vec![None; graph.node_types.len()];
    let mut intern = |name: String, names: &mut Vec<String>| -> u32 {
        *index.entry(name.clone()).or_insert_with(|| {
            names.push(name);
            names.len() as u32 - 1
        })
    };
    let mut class = Vec::with_capacity(graph.node_count());
    for node in 0..graph.node_count() as u32 {
        let ty = graph.node_type_name(node);
        let c = if matches!(ty, "object" | "native") {
            let key = graph.node_name[node as usize];
            match by_name.get(&key) {
                Some(&c) => c,
                None => {
                    let c = intern(graph.node_name(node), &mut names);
                    by_name.insert(key, c);
                    c
                }
            }
        } else {
            let t = graph.node_type[node as usize] as usize;
            match by_type[t] {
                Some(c) => c,
                None => {
                    let c = intern(type_class(ty).to_owned(), &mut names);
                    by_type[t] = Some(c);
                    c
                }
            }
        };
        class.push(c);
    }
    (class, names)
}

/// The children of each node in the dominator tree, as flat lists.
pub(crate) fn tree_children(idom: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let n = idom.len();
    // Counts, then (prefix sums) where each list ends, then (filled backwards) where it starts.
    let mut first = vec![0u32; n + 1];
    for &d in idom {
        if d != NONE {
            first[d as usize] += 1;
        }
    }
    let mut total = 0;
    for f in first.iter_mut() {
        total += *f;
        *f = total;
    }
    let mut children = vec![0u32; total as usize];
    for (v, &d) in idom.iter().enumerate().rev() {
        if d != NONE {
            first[d as usize] -= 1;
            children[first[d as usize] as usize] = v as u32;
        }
    }
    (first, children)
}

/// Per class: count, shallow and retained bytes of the nodes the root reaches.
pub fn class_rows(
    graph: &HeapGraph,
    retained: &Retained,
    class: &[u32],
    names: &[String],
) -> Vec<ClassRow> {
    let mut rows: Vec<ClassRow> = names
        .iter()
        .map(|name| ClassRow {
            name: name.clone(),
            count: 0,
            shallow_size: 0,
            retained_size: 0,
        })
        .collect();
    if graph.node_count() == 0 {
        return rows;
    }
    // Depth-first over the dominator tree, counting for each class how many of its instances are
    // on the way down: an instance adds its retained size only when none is.
    let (first, children) = tree_children(&retained.idom);
    let mut open = vec![0u32; names.len()];
    // (node, its next child): as deep as the tree, not as wide.
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut enter = |node: u32, stack: &mut Vec<(u32, u32)>, open: &mut [u32]| {
        let c = class[node as usize] as usize;
        let row = &mut rows[c];
        row.count += 1;
        row.shallow_size += u64::from(graph.self_size(node));
        if open[c] == 0 {
            row.retained_size += retained.size[node as usize];
        }
        open[c] += 1;
        stack.push((node, first[node as usize]));
    };
    enter(0, &mut stack, &mut open);
    while let Some(top) = stack.last_mut() {
        let (node, next) = *top;
        if next < first[node as usize + 1] {
            top.1 += 1;
            enter(children[next as usize], &mut stack, &mut open);
        } else {
            stack.pop();
            open[class[node as usize] as usize] -= 1;
        }
    }
    rows.retain(|r| r.count > 0 && r.name != "(synthetic)");
    rows.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.shallow_size.cmp(&a.shallow_size))
            .then(a.name.cmp(&b.name))
    });
    rows
}

/// Where the function `node` was written, `file:line:column`, from the snapshot's `locations`
/// and the script its `shared` info names.
pub fn location(graph: &HeapGraph, node: u32) -> Option<String> {
    let at = graph.locations.binary_search_by_key(&node, |l| l[0]).ok()?;
    let [_, _, line, column] = graph.locations[at];
    let child = |from: u32, names: &[&str]| {
        graph
            .edges(from)
            .find(|&e| graph.edge_name_str(e).is_some_and(|n| names.contains(&n)))
            .map(|e| graph.edge_to[e])
    };
    let script = child(node, &["shared"])
        .and_then(|shared| child(shared, &["script_or_debug_info", "script"]))
        .and_then(|script| graph.node_name_raw(script))
        .filter(|name| !name.is_empty())
        .unwrap_or("(unknown script)");
    Some(format!("{script}:{}:{}", line + 1, column + 1))
}

/// The name a report shows for `node`: a closure says where it was written, and one without a
/// name is `(anonymous function)` (`(anonymous function) app.js:35:6`).
pub fn display_name(graph: &HeapGraph, node: u32) -> String {
    let name = short_name(graph, node);
    match graph.node_type_name(node) == "closure" {
        true => match location(graph, node) {
            Some(at) => format!("{name} {at}"),
            None => name,
        },
        false => name,
    }
}

/// The name alone: a closure without a name is `(anonymous function)`.
pub fn short_name(graph: &HeapGraph, node: u32) -> String {
    let name = graph.node_name(node);
    if name.is_empty() && graph.node_type_name(node) == "closure" {
        return "(anonymous function)".to_owned();
    }
    name
}

/// The shortest path to `node`, as a report shows it (empty when nothing reaches it).
pub(crate) fn steps(graph: &HeapGraph, paths: &Paths, node: u32) -> Vec<Step> {
    paths
        .path(node)
        .map(|path| super::paths::steps(graph, paths, &path))
        .unwrap_or_default()
}

/// The `limit` objects, functions and native nodes that retain most, largest first (ties by
/// id), each with its shortest path, and the summary by class.
pub fn top(graph: &HeapGraph, limit: usize) -> Top {
    // The dominators first, then the summary and the ranking, then the paths: each step frees
    // what the next does not need, so that the peak stays low on big snapshots.
    let retained = Retained::compute(graph);
    let candidate = |node: u32| {
        matches!(graph.node_type_name(node), "object" | "closure" | "native")
            && retained.count[node as usize] > 0
    };
    let mut ranked: Vec<u32> = (0..graph.node_count() as u32)
        .filter(|&n| candidate(n))
        .collect();
    let key = |&n: &u32| {
        (
            std::cmp::Reverse(retained.size[n as usize]),
            graph.node_id(n),
            n,
        )
    };
    let limit = limit.min(ranked.len());
    if limit > 0 && limit < ranked.len() {
        ranked.select_nth_unstable_by_key(limit - 1, key);
    }
    ranked.truncate(limit);
    ranked.shrink_to_fit();
    ranked.sort_by_key(key);
    let sizes: Vec<(u64, u32)> = ranked
        .iter()
        .map(|&n| (retained.size[n as usize], retained.count[n as usize]))
        .collect();
    let reachable_size = retained.size.first().copied().unwrap_or(0);
    let reachable_count = u64::from(retained.count.first().copied().unwrap_or(0));
    let Retained { idom, size, count } = retained;
    drop(count);
    let retained = Retained {
        idom,
        size,
        count: Vec::new(),
    };
    let classes = {
        let (class, names) = classes(graph);
        class_rows(graph, &retained, &class, &names)
    };
    drop(retained);
    let paths = Paths::search(graph);
    let retainers = ranked
        .into_iter()
        .zip(sizes)
        .map(|(node, (retained_size, retained_count))| Retainer {
            id: graph.node_id(node),
            name: short_name(graph, node),
            node_type: graph.node_type_name(node).to_owned(),
            location: (graph.node_type_name(node) == "closure")
                .then(|| location(graph, node))
                .flatten(),
            self_size: u64::from(graph.self_size(node)),
            retained_size,
            retained_count,
            path: steps(graph, &paths, node),
        })
        .collect();
    let total_size = (0..graph.node_count() as u32)
        .map(|n| u64::from(graph.self_size(n)))
        .sum();
    Top {
        node_count: graph.node_count() as u64,
        edge_count: graph.edge_count() as u64,
        total_size,
        reachable_size,
        reachable_count,
        retainers,
        classes,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::heap::snapshot::tests::snapshot;

    // Node types: 1 array, 2 string, 3 object, 5 closure, 9 synthetic.
    // Edge types: 0 context, 1 element, 2 property, 3 internal.

    /// root -> (GC roots) -> Cache(16) -> Array(32) -> Session×3(40 each, each with a 10-byte
    /// string); a Session inside another Session; a closure `handler` with a location.
    pub(crate) fn sample() -> HeapGraph {
        let strings = [
            "",
            "(GC roots)",
            "Cache",
            "Array",
            "Session",
            "s",
            "list",
            "name",
            "handler",
            "child",
            "shared",
            "script_or_debug_info",
            "/app/server.js",
            "h",
        ];
        let text = snapshot(
            &[
                [9, 0, 1, 0, 1],     // 0 root
                [9, 1, 3, 0, 2],     // 1 (GC roots)
                [3, 2, 5, 16, 1],    // 2 Cache
                [1, 3, 7, 32, 3],    // 3 Array
                [3, 4, 9, 40, 1],    // 4 Session
                [3, 4, 11, 40, 1],   // 5 Session
                [3, 4, 13, 40, 2],   // 6 Session
                [2, 5, 15, 10, 0],   // 7 string
                [2, 5, 17, 10, 0],   // 8 string
                [2, 5, 19, 10, 0],   // 9 string
                [3, 4, 21, 40, 0],   // 10 Session (child of 6)
                [5, 8, 23, 32, 1],   // 11 closure handler
                [4, 8, 25, 20, 1],   // 12 code: shared info
                [4, 12, 27, 100, 0], // 13 code: script
            ],
            &[
                [1, 0, 1],   // root -> (GC roots)
                [1, 0, 2],   // (GC roots) -> Cache
                [2, 13, 11], // (GC roots) -h-> handler
                [2, 6, 3],   // Cache -list-> Array
                [1, 0, 4],
                [1, 1, 5],
                [1, 2, 6],
                [2, 7, 7],
                [2, 7, 8],
                [2, 7, 9],
                [2, 9, 10],  // Session 6 -child-> Session 10
                [3, 10, 12], // handler -shared-> shared info
                [3, 11, 13], // shared -script_or_debug_info-> script
            ],
            &strings,
        )
        .replace(
            r#""edge_types""#,
            r#""location_fields":["object_index","script_id","line","column"],"edge_types""#,
        )
        .replace(r#""locations":[]"#, r#""locations":[55,3,34,5]"#);
        HeapGraph::read(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_largest_retainers_come_first_with_their_paths() {
        let g = sample();
        let top = top(&g, 3);
        let names: Vec<_> = top
            .retainers
            .iter()
            .map(|r| (r.name.as_str(), r.retained_size))
            .collect();
        assert_eq!(
            names,
            [
                ("Cache", 16 + 32 + 4 * 40 + 30),
                ("Session", 90),
                ("Session", 50)
            ]
        );
        assert_eq!(top.retainers[0].retained_count, 9);
        let path: Vec<_> = top.retainers[1]
            .path
            .iter()
            .map(|s| format!("{}:{}", s.edge, s.node))
            .collect();
        assert_eq!(
            path,
            ["[0]:(GC roots)", "[0]:Cache", "list:Array", "[2]:Session"]
        );
        assert_eq!(top.reachable_count, 12);
    }

    #[test]
    fn a_closure_shows_where_it_was_written() {
        let g = sample();
        let top = top(&g, 10);
        let handler = top.retainers.iter().find(|r| r.name == "handler").unwrap();
        assert_eq!(handler.location.as_deref(), Some("/app/server.js:35:6"));
        assert_eq!(
            handler.retained_size, 32,
            "V8's code is not counted, as in paths"
        );
    }

    #[test]
    fn the_summary_counts_a_class_once_even_when_its_instances_nest() {
        let g = sample();
        let top = top(&g, 1);
        let session = top.classes.iter().find(|c| c.name == "Session").unwrap();
        assert_eq!(session.count, 4);
        assert_eq!(session.shallow_size, 160);
        assert_eq!(
            session.retained_size,
            4 * 40 + 30,
            "Session 10 is inside Session 6"
        );
        let strings = top.classes.iter().find(|c| c.name == "(string)").unwrap();
        assert_eq!((strings.count, strings.retained_size), (3, 30));
        assert!(top.classes.iter().all(|c| c.name != "(synthetic)"));
        assert_eq!(top.classes[0].name, "Cache");
    }
}
