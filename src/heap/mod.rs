//! Heap snapshots: decoding V8's format into flat columns, and the shortest paths that keep
//! objects alive. No Node-API here: `src/why.rs` is the facade.

pub mod dominators;
pub mod growth;
pub mod paths;
pub mod scope;
pub mod shape;
pub mod snapshot;
pub mod summary;

pub use dominators::Retained;
pub use paths::{explain, objects_of_class, probe_targets, Explanation, Group, Paths, Step};
pub use snapshot::{Decoder, HeapGraph, SnapshotError};
