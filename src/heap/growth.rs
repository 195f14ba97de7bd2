//! What grew across snapshots of one process, taken in time order (V8 keeps an object's id across
//! the snapshots of its isolate):
//!
//! - **unbound holders** (memlab's `unbound-object`): objects of the first snapshot whose retained
//!   size and retained object count grew at every step; of a chain of such holders that grew by the
//!   same amount (a module's context, the object in it, the array in that...) only the deepest is
//!   kept, because it is the one that holds the rest;
//! - **new objects**: objects and closures whose id the first snapshot did not have, still alive,
//!   grouped by class and the shape of their retainer path (LeakCanary's signature: the classes and
//!   edge names along the path, indices as `[x]`, and a run of identical links written once, so
//!   that a linked list or a promise chain of any length is one group).
//!
//! [`new_since`] does the second for one snapshot against an id taken before (the largest id at a
//! moment), with each group's allocation stack when V8 tracked allocations: a test's leak check.
//!
//! The snapshots are read one at a time: from the earlier ones only the first snapshot's largest
//! id (and its native nodes' ids), the sizes of its holders that are still growing and the counts
//! per group are kept.

use std::collections::HashMap;

use serde::Serialize;

use super::dominators::{Retained, NONE};
use super::paths::{Paths, Step};
use super::shape::{hash_of, link, link_named};
use super::snapshot::{Frame, HeapGraph};
use super::summary::{display_name, steps};

/// An object of the first snapshot that grew at every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unbound {
    pub id: u32,
    pub name: String,
    pub node_type: String,
    /// Retained bytes and objects in each snapshot.
    pub retained_sizes: Vec<u64>,
    pub retained_counts: Vec<u32>,
    /// Its shortest retainer path in the last snapshot.
    pub path: Vec<Step>,
}

/// New objects of one class and path shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    pub class: String,
    /// How many there are in each snapshot (0 in the first, by definition).
    pub counts: Vec<u64>,
    /// Whether the count grew at every step.
    pub growing: bool,
    /// In the last snapshot: their own bytes, and the bytes they retain (each byte once).
    pub shallow_size: u64,
    pub retained_size: u64,
    /// The shortest path to one of them in the last snapshot.
    pub path: Vec<Step>,
}

/// The answer of `growth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Growth {
    pub snapshots: usize,
    pub unbound: Vec<Unbound>,
    pub new_objects: Vec<NewGroup>,
}

#[derive(Debug)]
struct Holder {
    id: u32,
    sizes: Vec<u64>,
    counts: Vec<u32>,
}

#[derive(Debug)]
struct GroupTrack {
    class: String,
    counts: Vec<u64>,
    shallow_size: u64,
    retained_size: u64,
    /// Path length and node id of the example in the last snapshot, and its node.
    example: (usize, u32),
    example_node: u32,
    path: Vec<Step>,
}

/// Compares snapshots fed in time order; see the module's documentation.
#[derive(Debug, Default)]
pub struct GrowthTracker {
    files: usize,
    /// The first snapshot's even ids (the embedder's nodes), sorted, and its largest odd id.
    base_even_ids: Vec<u32>,
    base_max: u32,
    /// The holders of the first snapshot: (id, retained size, retained count), sorted by id.
    base_holders: Vec<(u32, u64, u32)>,
    /// Holders still growing after the second, sorted by id.
    holders: Vec<Holder>,
    groups: Vec<GroupTrack>,
    group_index: HashMap<u64, u32>,
    unbound: Vec<Unbound>,
}

/// The bytes each group retains, each byte once: the retained sizes of the members that no member
/// of the same group dominates. `group_of[node]` is a node's group or `NONE`; groups for which
/// `wanted` says no get 0.
fn group_retained_sizes(
    retained: &Retained,
    group_of: &[u32],
    groups: usize,
    wanted: impl Fn(u32) -> bool,
) -> Vec<u64> {
    let mut sizes = vec![0u64; groups];
    for (node, &index) in group_of.iter().enumerate() {
        if index == NONE || !wanted(index) {
            continue;
        }
        let mut at = retained.idom[node];
        let mut inside = false;
        let mut hops = 0;
        while at != NONE && at != 0 && hops < 10_000 {
            if group_of[at as usize] == index {
                inside = true;
                break;
            }
            at = retained.idom[at as usize];
            hops += 1;
        }
        if !inside {
            sizes[index as usize] += retained.size[node];
        }
    }
    sizes
}

/// Whether a node is an object in the sense of these reports: objects (contexts included) and
/// closures; native nodes too for holders.
fn counted(graph: &HeapGraph, node: u32) -> bool {
    matches!(graph.node_type_name(node), "object" | "closure")
}

fn holder_type(graph: &HeapGraph, node: u32) -> bool {
    matches!(graph.node_type_name(node), "object" | "closure" | "native")
}

/// Path signatures, computed on demand along the search tree with a run of identical links
/// counted once.
struct Signatures<'a> {
    graph: &'a HeapGraph,
    paths: &'a Paths,
    /// Per node: its signature (odd), or 0 when not computed yet, and its depth in the tree.
    memo: Vec<u64>,
    depth: Vec<u32>,
    stack: Vec<u32>,
}

impl<'a> Signatures<'a> {
    fn new(graph: &'a HeapGraph, paths: &'a Paths) -> Self {
        Self {
            graph,
            paths,
            memo: vec![0; graph.node_count()],
            depth: vec![0; graph.node_count()],
            stack: Vec::new(),
        }
    }

    /// The node's signature and its depth in the search tree.
    fn of(&mut self, node: u32) -> (u64, u32) {
        let mut at = node;
        while at != 0 && self.memo[at as usize] == 0 {
            self.stack.push(at);
            match self.paths.parent(at) {
                Some((parent, _)) => at = parent,
                None => break,
            }
        }
        while let Some(x) = self.stack.pop() {
            let Some((parent, edge)) = self.paths.parent(x) else {
                self.memo[x as usize] = 1;
                continue;
            };
            // Each name built once: a node's and its parent's serve both links and the class test.
            let name = display_name(self.graph, x);
            let parent_name = (parent != 0).then(|| display_name(self.graph, parent));
            let l = link_named(self.graph, x, edge, &name);
            // A link like the one before it adds nothing: chains of any length are one shape. So
            // does a link between two nodes of one class, whatever its edge: a list's head is
            // reached by its owner's field (a promise's `reactions_or_result`), the rest by the
            // link between members, and the head's members are the same leak as the others'.
            let (sig, last, depth) = match (self.paths.parent(parent), &parent_name) {
                (Some((_, parent_edge)), Some(parent_name)) => (
                    self.memo[parent as usize],
                    link_named(self.graph, parent, parent_edge, parent_name),
                    self.depth[parent as usize],
                ),
                _ => (1, 0, 0),
            };
            let same_class = parent_name.is_some_and(|parent_name| {
                self.graph.node_type_name(x) == self.graph.node_type_name(parent)
                    && name == parent_name
            });
            self.memo[x as usize] = if l == last || same_class {
                sig
            } else {
                hash_of((sig, l)) | 1
            };
            self.depth[x as usize] = depth + 1;
        }
        (self.memo[node as usize], self.depth[node as usize])
    }
}

impl GrowthTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next snapshot; `last` says it is the last one.
    pub fn add(&mut self, graph: &HeapGraph, last: bool) {
        let retained = Retained::compute(graph);
        let file = self.files;
        self.files += 1;
        if file == 0 {
            // V8 gives its heap objects odd ids from a counter that only grows, and never reuses
            // them: an odd id above the first snapshot's largest is new. The embedder's (native)
            // nodes get even ids made from addresses (measured on Node 20): those are looked up.
            self.base_max = graph
                .node_id
                .iter()
                .filter(|&&id| id % 2 == 1)
                .max()
                .copied()
                .unwrap_or(0);
            self.base_even_ids = graph
                .node_id
                .iter()
                .filter(|&&id| id % 2 == 0)
                .copied()
                .collect();
            self.base_even_ids.sort_unstable();
            self.base_even_ids.dedup();
            self.base_holders = (0..graph.node_count() as u32)
                .filter(|&n| holder_type(graph, n) && retained.count[n as usize] > 0)
                .map(|n| {
                    let n = n as usize;
                    (graph.node_id[n], retained.size[n], retained.count[n])
                })
                .collect();
            self.base_holders.sort_unstable_by_key(|h| h.0);
            self.base_holders.dedup_by_key(|h| h.0);
            return;
        }
        // Holders: keep those that grew again.
        // (id, node) of the holders that grew.
        let mut grew: Vec<(u32, u32)> = Vec::new();
        if file == 1 {
            for node in 0..graph.node_count() as u32 {
                let id = graph.node_id(node);
                let Ok(i) = self.base_holders.binary_search_by_key(&id, |h| h.0) else {
                    continue;
                };
                let (_, size0, count0) = self.base_holders[i];
                let (size, count) = (retained.size[node as usize], retained.count[node as usize]);
                if size > size0 && count > count0 {
                    self.holders.push(Holder {
                        id,
                        sizes: vec![size0],
                        counts: vec![count0],
                    });
                }
            }
            self.base_holders = Vec::new();
            self.holders.sort_unstable_by_key(|h| h.id);
            self.holders.dedup_by_key(|h| h.id);
        }
        for node in 0..graph.node_count() as u32 {
            let id = graph.node_id(node);
            if let Ok(i) = self.holders.binary_search_by_key(&id, |h| h.id) {
                let h = &mut self.holders[i];
                let (size, count) = (retained.size[node as usize], retained.count[node as usize]);
                if h.sizes.len() == file
                    && h.sizes.last().is_some_and(|&s| size > s)
                    && h.counts.last().is_some_and(|&c| count > c)
                {
                    h.sizes.push(size);
                    h.counts.push(count);
                    grew.push((id, node));
                }
            }
        }
        self.holders.retain(|h| h.sizes.len() == file + 1);
        let paths = Paths::search(graph);
        if last {
            self.unbound = self.unbound_holders(graph, &retained, &paths, &grew);
        }
        // The counts are not needed any more: their memory goes before the signatures'.
        let mut retained = retained;
        retained.count = Vec::new();
        // New objects, by class and path shape.
        let mut signatures = Signatures::new(graph, &paths);
        let mut group_of: Vec<u32> = if last {
            vec![NONE; graph.node_count()]
        } else {
            Vec::new()
        };
        for node in 0..graph.node_count() as u32 {
            if !counted(graph, node) || !paths.reached(node) {
                continue;
            }
            let id = graph.node_id(node);
            let old = if id % 2 == 1 {
                id <= self.base_max
            } else {
                self.base_even_ids.binary_search(&id).is_ok()
            };
            if old {
                continue;
            }
            let class = display_name(graph, node);
            let (signature, depth) = signatures.of(node);
            let key = hash_of((signature, &class));
            let files = self.files;
            let groups = &mut self.groups;
            let index = *self.group_index.entry(key).or_insert_with(|| {
                groups.push(GroupTrack {
                    class,
                    counts: Vec::new(),
                    shallow_size: 0,
                    retained_size: 0,
                    example: (usize::MAX, u32::MAX),
                    example_node: NONE,
                    path: Vec::new(),
                });
                groups.len() as u32 - 1
            });
            let group = &mut self.groups[index as usize];
            group.counts.resize(files, 0);
            group.counts[file] += 1;
            if last {
                group_of[node as usize] = index;
                group.shallow_size += u64::from(graph.self_size(node));
                let example = (depth as usize, graph.node_id(node));
                if example < group.example {
                    group.example = example;
                    group.example_node = node;
                }
            }
        }
        if last {
            drop(signatures);
            let sizes = group_retained_sizes(&retained, &group_of, self.groups.len(), |_| true);
            for (group, size) in self.groups.iter_mut().zip(sizes) {
                group.retained_size += size;
            }
            for group in &mut self.groups {
                if group.example_node != NONE {
                    group.path = steps(graph, &paths, group.example_node);
                }
            }
        }
    }

    fn unbound_holders(
        &self,
        graph: &HeapGraph,
        retained: &Retained,
        paths: &Paths,
        grew: &[(u32, u32)],
    ) -> Vec<Unbound> {
        let mut growth: HashMap<u32, (u64, u64)> = HashMap::new();
        for &(id, node) in grew {
            let Ok(i) = self.holders.binary_search_by_key(&id, |h| h.id) else {
                continue;
            };
            let h = &self.holders[i];
            let first_size = h.sizes.first().copied().unwrap_or(0);
            let first_count = h.counts.first().copied().unwrap_or(0);
            growth.insert(
                node,
                (
                    retained.size[node as usize].saturating_sub(first_size),
                    u64::from(retained.count[node as usize].saturating_sub(first_count)),
                ),
            );
        }
        // A holder whose growth a deeper holder accounts for (nine tenths of it or more) is left
        // out: the deeper one holds what grew.
        let mut shadowed: Vec<u32> = Vec::new();
        for (&node, &(size, _)) in &growth {
            let mut at = retained.idom[node as usize];
            let mut hops = 0;
            while at != NONE && hops < 100_000 {
                if growth
                    .get(&at)
                    .is_some_and(|&(above, _)| size.saturating_mul(10) >= above.saturating_mul(9))
                {
                    shadowed.push(at);
                }
                at = retained.idom[at as usize];
                hops += 1;
            }
        }
        shadowed.sort_unstable();
        let mut out: Vec<(u64, u32, u32)> = growth
            .iter()
            .filter(|(n, _)| shadowed.binary_search(n).is_err())
            .map(|(&n, &(size, _))| (size, graph.node_id(n), n))
            .collect();
        out.sort_by_key(|&(size, id, _)| (std::cmp::Reverse(size), id));
        out.into_iter()
            .filter_map(|(_, id, node)| {
                let i = self.holders.binary_search_by_key(&id, |h| h.id).ok()?;
                let h = &self.holders[i];
                Some(Unbound {
                    id,
                    name: display_name(graph, node),
                    node_type: graph.node_type_name(node).to_owned(),
                    retained_sizes: h.sizes.clone(),
                    retained_counts: h.counts.clone(),
                    path: steps(graph, paths, node),
                })
            })
            .collect()
    }

    /// The report: up to `limit` unbound holders and groups of new objects, most telling first.
    pub fn report(self, limit: usize) -> Growth {
        let files = self.files;
        let mut groups: Vec<NewGroup> = self
            .groups
            .into_iter()
            .map(|mut g| {
                g.counts.resize(files, 0);
                let growing = g.counts.windows(2).all(|w| w[1] > w[0]);
                NewGroup {
                    class: g.class,
                    growing,
                    counts: g.counts,
                    shallow_size: g.shallow_size,
                    retained_size: g.retained_size,
                    path: g.path,
                }
            })
            .filter(|g| g.counts.last().is_some_and(|&c| c > 0))
            .collect();
        groups.sort_by(|a, b| {
            b.growing
                .cmp(&a.growing)
                .then(b.retained_size.cmp(&a.retained_size))
                .then(b.counts.last().cmp(&a.counts.last()))
                .then(a.class.cmp(&b.class))
                .then(a.path.len().cmp(&b.path.len()))
        });
        groups.truncate(limit);
        let mut unbound = self.unbound;
        unbound.truncate(limit);
        Growth {
            snapshots: files,
            unbound,
            new_objects: groups,
        }
    }
}

/// New objects of one class and path shape in one snapshot, with where they were allocated: what
/// a leak check in a test reports (`assertNoGrowth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSince {
    /// The group's class and path shape, the same in every snapshot of the process.
    pub key: String,
    pub class: String,
    pub count: u64,
    /// Their own bytes, and the bytes they retain (each byte once).
    pub shallow_size: u64,
    pub retained_size: u64,
    /// How many of them carry an allocation trace.
    pub traced: u64,
    /// The allocation stack most of them share, innermost first (empty without traces).
    pub stack: Vec<Frame>,
    /// How many of them were allocated under that stack.
    pub stack_count: u64,
    /// The shortest path to one of them.
    pub path: Vec<Step>,
    /// Their V8 ids, to find them again in a later snapshot of the process.
    pub ids: Vec<u32>,
}

/// Which of `ids` a root reaches in `graph`, sorted.
pub fn alive(graph: &HeapGraph, ids: &[u32]) -> Vec<u32> {
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    let paths = Paths::search(graph);
    let mut found: Vec<u32> = (0..graph.node_count() as u32)
        .filter(|&n| wanted.binary_search(&graph.node_id(n)).is_ok() && paths.reached(n))
        .map(|n| graph.node_id(n))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Frames of an allocation stack kept for a report.
const STACK_FRAMES: usize = 24;

/// Group keys joined into classes (union-find with path halving); each class answers its smallest
/// key, so a group's key does not depend on the order the objects came in.
#[derive(Default)]
struct KeyUnion {
    index_of: HashMap<u64, usize>,
    parent: Vec<usize>,
    /// The smallest key of each class, kept at its root.
    smallest: Vec<u64>,
}

impl KeyUnion {
    fn index(&mut self, key: u64) -> usize {
        let next = self.parent.len();
        let index = *self.index_of.entry(key).or_insert(next);
        if index == next {
            self.parent.push(next);
            self.smallest.push(key);
        }
        index
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn unite(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (root, child) = if a < b { (a, b) } else { (b, a) };
            self.parent[child] = root;
            self.smallest[root] = self.smallest[root].min(self.smallest[child]);
        }
    }
}

/// The objects and closures of `graph` whose V8 id is odd and above `base_max` (created after the
/// moment whose largest id that was), still reached from a root, grouped by class and path
/// shape as [`GrowthTracker`] groups them, joined with the objects of that class that the same
/// function allocated (the innermost outside Node's own code): one leak reached by several paths (a
/// timer in the timer list and in the app's array) is one group, and so are its members whose
/// allocation trace V8 lost and those it kept. Only the groups
/// of at least `min_count` objects that retain at least `min_bytes`, largest first.
pub fn new_since(
    graph: &HeapGraph,
    base_max: u32,
    min_count: u64,
    min_bytes: u64,
) -> Vec<NewSince> {
    let paths = Paths::search(graph);
    let mut signatures = Signatures::new(graph, &paths);
    // Two objects of one class are one group when they share a path shape or an allocating
    // function: the site unites one leak reached by several paths, the shape unites the members
    // whose allocation trace V8 lost with those it kept (a union of both keys).
    let mut keys = KeyUnion::default();
    let mut members: Vec<(u32, u32, String, u32, usize)> = Vec::new();
    for node in 0..graph.node_count() as u32 {
        let id = graph.node_id(node);
        if id.is_multiple_of(2) || id <= base_max || !counted(graph, node) || !paths.reached(node) {
            continue;
        }
        let class = display_name(graph, node);
        let (signature, depth) = signatures.of(node);
        let shape = keys.index(hash_of((signature, &class)));
        if let Some(site) = graph.allocation_site(node) {
            let site = keys.index(hash_of((u64::from(site), &class, "site")));
            keys.unite(shape, site);
        }
        members.push((node, id, class, depth, shape));
    }
    drop(signatures);
    // And when an older object holds them the same way (one array, one list's head): a shortest
    // path depends on where in a list an object sits, so one leak in an array and in a timer list
    // takes two shapes, and without traces nothing else would join them.
    let mut member_shape = vec![usize::MAX; graph.node_count()];
    for &(node, _, _, _, shape) in &members {
        member_shape[node as usize] = shape;
    }
    for holder in 0..graph.node_count() as u32 {
        if member_shape[holder as usize] != usize::MAX
            || !paths.reached(holder)
            || matches!(graph.node_type_name(holder), "synthetic" | "hidden")
        {
            continue;
        }
        for edge in graph.edges(holder) {
            let to = graph.edge_to[edge];
            let shape = member_shape[to as usize];
            if shape == usize::MAX || graph.edge_type_name(edge) == "weak" {
                continue;
            }
            let held = keys.index(hash_of((holder, link(graph, to, edge as u32), "holder")));
            keys.unite(shape, held);
        }
    }
    struct Building {
        key: u64,
        class: String,
        count: u64,
        shallow_size: u64,
        traced: u64,
        /// Members per trace node id, with one member each.
        traces: HashMap<u32, (u64, u32)>,
        example: (u32, u32),
        ids: Vec<u32>,
    }
    let mut group_of = vec![NONE; graph.node_count()];
    let mut groups: Vec<Building> = Vec::new();
    let mut index_of: HashMap<usize, u32> = HashMap::new();
    for (node, id, class, depth, shape) in members {
        let root = keys.find(shape);
        let key = keys.smallest[root];
        let index = *index_of.entry(root).or_insert_with(|| {
            groups.push(Building {
                key,
                class,
                count: 0,
                shallow_size: 0,
                traced: 0,
                traces: HashMap::new(),
                example: (u32::MAX, u32::MAX),
                ids: Vec::new(),
            });
            groups.len() as u32 - 1
        });
        group_of[node as usize] = index;
        let g = &mut groups[index as usize];
        g.count += 1;
        g.ids.push(id);
        g.shallow_size += u64::from(graph.self_size(node));
        let trace = graph.trace_node_id.get(node as usize).copied().unwrap_or(0);
        if trace != 0 {
            g.traced += 1;
            g.traces.entry(trace).or_insert((0, node)).0 += 1;
        }
        g.example = g.example.min((depth, node));
    }
    let wanted: Vec<bool> = groups.iter().map(|g| g.count >= min_count).collect();
    if !wanted.iter().any(|&w| w) {
        return Vec::new();
    }
    let retained = Retained::compute(graph);
    let retained_size = group_retained_sizes(&retained, &group_of, groups.len(), |index| {
        wanted[index as usize]
    });
    drop(retained);
    let mut out: Vec<NewSince> = groups
        .into_iter()
        .enumerate()
        .filter(|&(i, ref g)| wanted[i] && retained_size[i] >= min_bytes && g.count > 0)
        .map(|(i, g)| {
            // The stack most members share; ties to the smallest trace id, for the same answer
            // every time.
            let best = g
                .traces
                .iter()
                .max_by_key(|&(&trace, &(n, _))| (n, std::cmp::Reverse(trace)))
                .map(|(_, &(n, node))| (n, node));
            let (stack_count, stack) = best.map_or((0, Vec::new()), |(n, node)| {
                (n, graph.allocation_stack(node, STACK_FRAMES))
            });
            NewSince {
                key: format!("{:016x}", g.key),
                class: g.class,
                count: g.count,
                shallow_size: g.shallow_size,
                retained_size: retained_size[i],
                traced: g.traced,
                stack,
                stack_count,
                path: steps(graph, &paths, g.example.1),
                ids: g.ids,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.count.cmp(&a.count))
            .then(a.class.cmp(&b.class))
            .then(a.key.cmp(&b.key))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::snapshot::tests::snapshot;

    const STRINGS: [&str; 7] = [
        "",
        "(GC roots)",
        "Store",
        "Array",
        "Session",
        "list",
        "next",
    ];

    /// root -> (GC roots) -> Store -list-> Array -[i]-> Session; `extra` adds, for each entry,
    /// a Session in the array at the next index followed by a chain of `n` Sessions (`next`).
    fn file(chains: &[u32]) -> HeapGraph {
        let mut nodes = vec![
            [9, 0, 1, 0, 1],
            [9, 1, 3, 0, 1],
            [3, 2, 5, 16, 1],
            [3, 3, 7, 16, 1 + chains.len() as u32],
            [3, 4, 9, 40, 0],
        ];
        let mut edges = vec![[1, 0, 1], [1, 0, 2], [2, 5, 3], [1, 0, 4]];
        let mut links = Vec::new();
        let mut id = 2_000_001;
        for (i, &n) in chains.iter().enumerate() {
            let head = nodes.len() as u32;
            edges.push([1, i as u32 + 1, head]);
            nodes.push([3, 4, id, 40, u32::from(n > 0)]);
            id += 2;
            for k in 0..n {
                let node = nodes.len() as u32;
                links.push([2, 6, node]);
                nodes.push([3, 4, id, 40, u32::from(k + 1 < n)]);
                id += 2;
            }
        }
        // The chain links are the edges of the nodes after the array's entries, in node order.
        edges.extend(links);
        HeapGraph::read(snapshot(&nodes, &edges, &STRINGS).as_bytes()).unwrap()
    }

    fn growth(files: &[HeapGraph]) -> Growth {
        let mut tracker = GrowthTracker::new();
        for (i, graph) in files.iter().enumerate() {
            tracker.add(graph, i + 1 == files.len());
        }
        tracker.report(10)
    }

    #[test]
    fn the_array_that_grew_at_every_step_is_the_unbound_holder_not_the_objects_above_it() {
        let g = growth(&[file(&[]), file(&[0, 1]), file(&[0, 2, 0])]);
        assert_eq!(g.snapshots, 3);
        assert_eq!(g.unbound.len(), 1, "{:?}", g.unbound);
        let array = &g.unbound[0];
        assert_eq!((array.id, array.name.as_str()), (7, "Array"));
        assert_eq!(array.retained_sizes, [56, 176, 256]);
        assert_eq!(array.retained_counts, [2, 5, 7]);
        assert_eq!(array.path.last().map(|s| s.edge.as_str()), Some("list"));
    }

    #[test]
    fn new_objects_are_grouped_by_path_shape_and_a_chain_of_any_length_is_one_group() {
        // New nodes get ids in node order above the first snapshot's (and the helper's closures'):
        // what counts is "above the first snapshot's largest odd id". The chains' heads (in the
        // array) and their members (`next` from a Session) are one shape: Session links to Session.
        let g = growth(&[file(&[]), file(&[0, 1]), file(&[0, 2, 0])]);
        let shapes: Vec<_> = g
            .new_objects
            .iter()
            .map(|n| {
                (
                    n.class.as_str(),
                    n.counts.clone(),
                    n.growing,
                    n.retained_size,
                )
            })
            .collect();
        assert_eq!(shapes, [("Session", vec![0, 3, 5], true, 5 * 40)]);
        let example = g.new_objects[0]
            .path
            .iter()
            .map(|s| s.edge.as_str())
            .collect::<Vec<_>>();
        assert_eq!(example[..3], ["[0]", "[0]", "list"], "the shortest example");
        assert!(
            example[3].starts_with('['),
            "an array entry, not a chain member: {example:?}"
        );
    }

    #[test]
    fn a_holder_that_stopped_growing_is_not_unbound() {
        let g = growth(&[file(&[]), file(&[0, 1]), file(&[0, 1])]);
        assert!(g.unbound.is_empty());
        assert!(g.new_objects.iter().all(|n| !n.growing));
    }

    #[test]
    fn new_since_groups_the_objects_above_an_id_by_shape_and_keeps_those_large_enough() {
        // The helper's ids: old nodes below 10, its closures from 1,000,001, new Sessions from
        // 2,000,001.
        let graph = file(&[0, 2, 0]);
        let groups = new_since(&graph, 1_999_999, 1, 0);
        let shapes: Vec<_> = groups
            .iter()
            .map(|g| (g.class.as_str(), g.count, g.retained_size, g.stack.len()))
            .collect();
        assert_eq!(shapes, [("Session", 5, 200, 0)]);
        let again = new_since(&file(&[0, 2, 0, 1]), 1_999_999, 1, 0);
        assert!(
            again.iter().any(|g| g.key == groups[0].key && g.count == 7),
            "a group keeps its key in another snapshot: {again:?}"
        );
        assert_eq!(new_since(&graph, 1_999_999, 5, 0).len(), 1);
        assert!(new_since(&graph, 1_999_999, 6, 0).is_empty());
        assert_eq!(new_since(&graph, 1_999_999, 1, 200).len(), 1);
        assert!(new_since(&graph, 1_999_999, 1, 201).is_empty());
        assert!(new_since(&graph, 2_000_099, 1, 0).is_empty());
        let ids = &groups[0].ids;
        assert_eq!(alive(&graph, ids), *ids);
        assert_eq!(alive(&file(&[0]), ids), [ids[0]], "the others are gone");
    }

    #[test]
    fn objects_an_older_object_holds_the_same_way_are_one_group_whatever_their_shortest_path() {
        // (GC roots) -> Store -list-> Array -[0..3]-> Session ×3, and Store -next-> the first
        // Session: its shortest path is not the others', the Array holds all three alike.
        let nodes = [
            [9, 0, 1, 0, 1],
            [9, 1, 3, 0, 1],
            [3, 2, 5, 16, 2],
            [3, 3, 7, 16, 3],
            [3, 4, 2_000_001, 40, 0],
            [3, 4, 2_000_003, 40, 0],
            [3, 4, 2_000_005, 40, 0],
        ];
        let edges = [
            [1, 0, 1],
            [1, 0, 2],
            [2, 5, 3],
            [2, 6, 4],
            [1, 0, 4],
            [1, 1, 5],
            [1, 2, 6],
        ];
        let graph = HeapGraph::read(snapshot(&nodes, &edges, &STRINGS).as_bytes()).unwrap();
        let groups = new_since(&graph, 1_999_999, 1, 0);
        let shapes: Vec<_> = groups.iter().map(|g| (g.class.as_str(), g.count)).collect();
        assert_eq!(shapes, [("Session", 3)]);
        let example: Vec<_> = groups[0].path.iter().map(|s| s.edge.as_str()).collect();
        assert_eq!(
            example.last(),
            Some(&"next"),
            "the shortest path is the example"
        );
    }

    #[test]
    fn keys_joined_by_a_shared_site_or_shape_are_one_class_named_by_its_smallest_key() {
        let mut keys = KeyUnion::default();
        let (shape_a, site, shape_b, alone) = (
            keys.index(30),
            keys.index(20),
            keys.index(10),
            keys.index(5),
        );
        keys.unite(shape_a, site);
        keys.unite(shape_b, site);
        assert_eq!(keys.index(30), shape_a, "a key keeps its index");
        let root = keys.find(shape_a);
        assert_eq!(root, keys.find(shape_b));
        assert_eq!(keys.smallest[root], 10);
        let apart = keys.find(alone);
        assert_ne!(apart, root);
        assert_eq!(keys.smallest[apart], 5);
    }
}
