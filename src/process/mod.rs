#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The process-wide view: every tracker of every thread shows its counts here, and any thread
//! reads them, without waiting on another thread's event loop.
//!
//! - [`table`]: the cross-thread table. A tracker's counts are atomics that `track()` updates
//!   before it returns, so a reader in any thread counts an object as soon as it is tracked.
//! - [`aggregate`]: the views of all trackers merged, per name exactly or per label set.
//! - [`openmetrics`]: the metric families (one definition for every writer) and the text writer.

use std::borrow::Cow;

pub mod aggregate;
pub mod openmetrics;
pub mod table;

pub use aggregate::{merged_refs, series, Series};
pub use openmetrics::{openmetrics, Family, Kind, CONTENT_TYPE, FAMILIES};
pub use table::{Labels, Row, Table, Totals, View, TABLE};

/// A key or origin as JavaScript holds it: UTF-8 when the string is well formed, its UTF-16 code
/// units when it holds a lone surrogate (which UTF-8 cannot carry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    Utf8(Box<str>),
    Utf16(Box<[u16]>),
}

impl Name {
    /// The name as text: lone surrogates become U+FFFD (for the metrics, whose format is UTF-8).
    pub fn lossy(&self) -> Cow<'_, str> {
        match self {
            Name::Utf8(s) => Cow::Borrowed(s),
            Name::Utf16(units) => Cow::Owned(String::from_utf16_lossy(units)),
        }
    }
}
