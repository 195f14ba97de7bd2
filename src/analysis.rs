#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade of the `top` and `growth` commands: each reads snapshot files and answers
//! JSON. The work is in [`crate::heap`].

use std::path::Path;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::heap::growth::GrowthTracker;
use crate::heap::summary;
use crate::heap::HeapGraph;

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
