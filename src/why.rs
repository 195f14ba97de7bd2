#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade of `why()` and the snapshot command: decoding a snapshot that JavaScript
//! streams in (or a file), and explaining objects in it. The work is in [`crate::heap`].

use std::cell::RefCell;
use std::fs::File;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::heap::{self, Decoder as SnapshotDecoder, HeapGraph, Paths, Retained, SnapshotError};

fn failure(error: SnapshotError) -> Error {
    Error::new(Status::GenericFailure, error.0)
}

/// A snapshot being decoded; chunks go in with `heapFeed`.
type Decoder = External<RefCell<Option<SnapshotDecoder>>>;

/// A decoded snapshot with its shortest-path tree.
pub struct Heap {
    graph: HeapGraph,
    paths: Paths,
}

impl Heap {
    fn new(graph: HeapGraph) -> Self {
        let paths = Paths::search(&graph);
        Self { graph, paths }
    }
}

/// Starts decoding a snapshot.
#[napi(catch_unwind)]
pub fn heap_decoder() -> Decoder {
    External::new(RefCell::new(Some(SnapshotDecoder::default())))
}

/// Decodes the next chunk of the snapshot's text, as it comes. After an error the decoder is done.
#[napi(catch_unwind)]
pub fn heap_feed(decoder: &Decoder, chunk: &[u8]) -> Result<()> {
    let mut slot = decoder.try_borrow_mut().map_err(|_| busy())?;
    let fed = slot.as_mut().ok_or_else(finished)?.feed(chunk);
    if fed.is_err() {
        *slot = None;
    }
    fed.map_err(failure)
}

/// Ends the text: the decoded snapshot, searched for shortest paths.
#[napi(catch_unwind)]
pub fn heap_finish(decoder: &Decoder) -> Result<External<Heap>> {
    let taken = decoder.try_borrow_mut().map_err(|_| busy())?.take();
    let graph = taken.ok_or_else(finished)?.finish().map_err(failure)?;
    Ok(External::new(Heap::new(graph)))
}

/// Decodes the snapshot file at `path`.
#[napi(catch_unwind)]
pub fn heap_read_file(path: String) -> Result<External<Heap>> {
    let file = File::open(&path)
        .map_err(|e| Error::new(Status::InvalidArg, format!("cannot read {path}: {e}")))?;
    let graph = HeapGraph::read(file).map_err(failure)?;
    Ok(External::new(Heap::new(graph)))
}

/// About how many bytes of JSON the paths of one answer may take, texts included (each group's
/// steps are counted twice, for the text a report adds): whatever the heap, a `why()` result stays
/// well under 256 KiB.
const JSON_BUDGET: usize = 192 * 1024;

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

/// `limit` as a count: a whole number >= 1 (a JavaScript number: 2^32 and more mean "all", not a
/// wrapped-around count).
fn count_limit(limit: f64) -> Result<usize> {
    if !(limit >= 1.0 && limit.fract() == 0.0) {
        return Err(Error::new(
            Status::InvalidArg,
            format!("limit must be an integer >= 1, not {limit}"),
        ));
    }
    // `as` saturates: a limit past usize::MAX (or infinite) takes them all.
    Ok(limit as usize)
}

/// Explains the objects held weakly by the probe of class `probeClass` (an object whose `sets`
/// is an array of `WeakSet`s): per set, up to `limit` of its objects, those with the shortest
/// paths. One explanation per set, as JSON, or `null` without a probe.
#[napi(catch_unwind)]
pub fn heap_explain_probe(
    heap: &External<Heap>,
    probe_class: String,
    limit: f64,
) -> Result<Option<String>> {
    let limit = count_limit(limit)?;
    let Some(groups) = heap::probe_targets(&heap.graph, &probe_class) else {
        return Ok(None);
    };
    let retained = Retained::compute(&heap.graph);
    let mut explanations: Vec<_> = groups
        .iter()
        .map(|targets| heap::explain(&heap.graph, &heap.paths, Some(&retained), targets, limit))
        .collect();
    heap::paths::within(&mut explanations, JSON_BUDGET);
    to_json(&explanations).map(Some)
}

/// Explains up to `limit` objects of class `class` (or functions of that name), those with the
/// shortest paths: JSON `{ live, explained, paths }`, where `live` counts every one the root
/// reaches.
#[napi(catch_unwind)]
pub fn heap_explain_class(heap: &External<Heap>, class: String, limit: f64) -> Result<String> {
    let limit = count_limit(limit)?;
    let all = heap::objects_of_class(&heap.graph, &class);
    let reached: Vec<u32> = all.into_iter().filter(|&n| heap.paths.reached(n)).collect();
    let retained = Retained::compute(&heap.graph);
    let explanation = heap::explain(&heap.graph, &heap.paths, Some(&retained), &reached, limit);
    let mut one = [explanation];
    heap::paths::within(&mut one, JSON_BUDGET);
    let [explanation] = one;
    to_json(&serde_json::json!({
        "live": reached.len(),
        "explained": explanation.explained,
        "paths": explanation.paths,
    }))
}

/// Explains the node whose snapshot id is `id` (memlab's `trace --node-id`): JSON `{ found,
/// name, nodeType, live, explained, paths }`; `found` is false when the snapshot has no such node.
#[napi(catch_unwind)]
pub fn heap_explain_node(heap: &External<Heap>, id: f64) -> Result<String> {
    let node = (id >= 0.0 && id.fract() == 0.0 && id <= f64::from(u32::MAX))
        .then(|| heap::paths::node_of_id(&heap.graph, id as u32))
        .flatten();
    let Some(node) = node else {
        return to_json(&serde_json::json!({ "found": false }));
    };
    let reached = heap.paths.reached(node) && node != 0;
    let retained = Retained::compute(&heap.graph);
    let mut one = [heap::explain(
        &heap.graph,
        &heap.paths,
        Some(&retained),
        &[node],
        1,
    )];
    heap::paths::within(&mut one, JSON_BUDGET);
    let [explanation] = one;
    to_json(&serde_json::json!({
        "found": true,
        "name": heap::summary::display_name(&heap.graph, node),
        "nodeType": heap.graph.node_type_name(node),
        "live": u32::from(reached),
        "explained": explanation.explained,
        "paths": explanation.paths,
    }))
}

fn busy() -> Error {
    Error::new(
        Status::GenericFailure,
        "weak-tracker: the snapshot decoder is in use",
    )
}

fn finished() -> Error {
    Error::new(
        Status::GenericFailure,
        "weak-tracker: the snapshot decoder has finished",
    )
}
