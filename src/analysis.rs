#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade of the `top` and `growth` commands (each reads snapshot files and answers
//! JSON) and of `assertNoGrowth` (a snapshot of this thread streamed in). The work is in
//! [`crate::heap`].

use std::cell::RefCell;
use std::path::Path;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::heap::growth::{self, GrowthTracker};
use crate::heap::summary;
use crate::heap::{Decoder, HeapGraph};

fn read(path: &str) -> Result<HeapGraph> {
    HeapGraph::read_file(Path::new(path))
        .map_err(|e| Error::new(Status::GenericFailure, format!("{path}: {e}")))
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

/// The largest retainers of the snapshot file at `path` (up to `limit`) and its summary by
/// class, as JSON.
#[napi(catch_unwind)]
pub fn heap_top(path: String, limit: u32) -> Result<String> {
    let graph = read(&path)?;
    json(&summary::top(&graph, limit as usize))
}

/// What grew across the snapshot files at `paths`, in time order (two or more, of one process):
/// up to `limit` unbound holders and groups of new objects, as JSON.
#[napi(catch_unwind)]
pub fn heap_growth(paths: Vec<String>, limit: u32) -> Result<String> {
    if paths.len() < 2 {
        return Err(Error::new(
            Status::InvalidArg,
            "growth needs two snapshots or more",
        ));
    }
    let mut tracker = GrowthTracker::new();
    for (i, path) in paths.iter().enumerate() {
        let graph = read(path)?;
        tracker.add(&graph, i + 1 == paths.len());
    }
    json(&tracker.report(limit as usize))
}

/// A snapshot of this thread being decoded for `growthNewSince`.
type GrowthDecoder = External<RefCell<Option<Decoder>>>;

/// Starts decoding a snapshot whose new objects `growthNewSince` will group.
#[napi(catch_unwind)]
pub fn growth_decoder() -> GrowthDecoder {
    External::new(RefCell::new(Some(Decoder::default())))
}

/// Decodes the next chunk of the snapshot's text. After an error the decoder is done.
#[napi(catch_unwind)]
pub fn growth_feed(decoder: &GrowthDecoder, chunk: &[u8]) -> Result<()> {
    let mut slot = decoder
        .try_borrow_mut()
        .map_err(|_| failure("the snapshot decoder is in use"))?;
    let fed = slot
        .as_mut()
        .ok_or_else(|| failure("the snapshot decoder has finished"))?
        .feed(chunk);
    if fed.is_err() {
        *slot = None;
    }
    fed.map_err(|e| failure(&e.0))
}

/// Ends the text and answers, as JSON, the groups of objects created after the moment whose
/// largest V8 id was `baseMax` (by class and path shape, with their allocation stacks), keeping
/// those of at least `minCount` objects retaining at least `minBytes`. The decoder is done after.
#[napi(catch_unwind)]
pub fn growth_new_since(
    decoder: &GrowthDecoder,
    base_max: u32,
    min_count: f64,
    min_bytes: f64,
) -> Result<String> {
    let whole = |x: f64| x >= 0.0 && x.fract() == 0.0;
    if !whole(min_count) || !whole(min_bytes) {
        return Err(Error::new(
            Status::InvalidArg,
            "minCount and minBytes must be integers >= 0",
        ));
    }
    let graph = finish(decoder)?;
    // `as` saturates: a bound past u64::MAX keeps nothing, as it should.
    json(&growth::new_since(
        &graph,
        base_max,
        min_count as u64,
        min_bytes as u64,
    ))
}

/// Ends the text and answers which of `ids` are still reached from a root, sorted. The decoder
/// is done after.
#[napi(catch_unwind)]
pub fn growth_alive(decoder: &GrowthDecoder, ids: Vec<u32>) -> Result<Vec<u32>> {
    Ok(growth::alive(&finish(decoder)?, &ids))
}

/// Ends the decoder's text: the decoded snapshot. The decoder is done after.
fn finish(decoder: &GrowthDecoder) -> Result<HeapGraph> {
    let taken = decoder
        .try_borrow_mut()
        .map_err(|_| failure("the snapshot decoder is in use"))?
        .take();
    taken
        .ok_or_else(|| failure("the snapshot decoder has finished"))?
        .finish()
        .map_err(|e| failure(&e.0))
}

fn failure(message: &str) -> Error {
    Error::new(Status::GenericFailure, format!("weak-tracker: {message}"))
}
