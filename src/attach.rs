#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade of `weak-tracker attach --snapshots K`: heap snapshots of another process
//! stream in over the inspector protocol, one after the other, into one growth comparison. Each
//! snapshot is decoded as it arrives and dropped once compared; the text is never whole in
//! memory and never on disk. The work is in [`crate::heap::growth`].

use std::cell::RefCell;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::heap::growth::GrowthTracker;
use crate::heap::Decoder;

/// Snapshots compared so far, and the one being decoded.
#[derive(Default)]
pub struct GrowthStream {
    tracker: GrowthTracker,
    decoder: Option<Decoder>,
}

type Stream = External<RefCell<GrowthStream>>;

fn failure(message: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("weak-tracker: {message}"))
}

fn busy() -> Error {
    failure("the growth stream is in use")
}

/// Starts a comparison of snapshots that arrive in time order.
#[napi(catch_unwind)]
pub fn growth_stream() -> Stream {
    External::new(RefCell::new(GrowthStream::default()))
}

/// Decodes the next chunk of the snapshot being received (the first chunk starts one).
#[napi(catch_unwind)]
pub fn growth_stream_feed(stream: &Stream, chunk: &[u8]) -> Result<()> {
    let mut stream = stream.try_borrow_mut().map_err(|_| busy())?;
    let fed = stream
        .decoder
        .get_or_insert_with(Decoder::default)
        .feed(chunk);
    if fed.is_err() {
        stream.decoder = None;
    }
    fed.map_err(|e| failure(e.0))
}

/// Ends the snapshot being received and compares it with the earlier ones; `last` says it is the
/// final one (the groups of new objects are read from it).
#[napi(catch_unwind)]
pub fn growth_stream_end(stream: &Stream, last: bool) -> Result<()> {
    let mut stream = stream.try_borrow_mut().map_err(|_| busy())?;
    let decoder = stream
        .decoder
        .take()
        .ok_or_else(|| failure("no snapshot was received"))?;
    let graph = decoder.finish().map_err(|e| failure(e.0))?;
    stream.tracker.add(&graph, last);
    Ok(())
}

/// What grew, as `weak-tracker growth --json` answers it: up to `limit` holders and groups. The
/// stream is spent afterwards.
#[napi(catch_unwind)]
pub fn growth_stream_report(stream: &Stream, limit: u32) -> Result<String> {
    let mut stream = stream.try_borrow_mut().map_err(|_| busy())?;
    let tracker = std::mem::take(&mut stream.tracker);
    serde_json::to_string(&tracker.report(limit as usize)).map_err(failure)
}
