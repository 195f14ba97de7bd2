#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade of the process-wide view ([`crate::process`]): callable from any thread.

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;

use crate::process::{self, Name, FAMILIES, TABLE};
use crate::weak;

fn js_name(env: &Env, name: &Name) -> Result<sys::napi_value> {
    Ok(match name {
        Name::Utf8(text) => env.create_string(text)?.raw(),
        Name::Utf16(units) => env.create_string_utf16(units)?.raw(),
    })
}

/// The live counts of every tracker of every thread, merged per (key, origin), as a flat array
/// `[key, origin, live, key, origin, live, ...]`.
#[napi(catch_unwind, ts_return_type = "Array<string | number>")]
pub fn process_refs(env: &Env) -> Result<Unknown<'_>> {
    let merged = process::merged_refs(&TABLE.views());
    let mut values = Vec::with_capacity(merged.len() * 3);
    for (key, origin, live) in &merged {
        values.push(js_name(env, key)?);
        values.push(js_name(env, origin)?);
        values.push(env.create_double(*live as f64)?.raw());
    }
    let array = weak::new_array(env.raw(), &values)?;
    // SAFETY: `array` is an array handle just created in `env`, alive in the current scope.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), array) })
}

/// The process-wide figures in the OpenMetrics text format.
#[napi(catch_unwind)]
pub fn metrics() -> String {
    process::openmetrics(&TABLE.views())
}

/// The media type of `metrics()`'s text.
#[napi(catch_unwind)]
pub fn metrics_content_type() -> String {
    process::CONTENT_TYPE.to_owned()
}

/// One metric family, as every writer of the metrics names it.
#[napi(object)]
pub struct MetricFamily {
    /// The family's name; a counter's samples add `_total`.
    pub name: String,
    /// `'gauge'` or `'counter'`.
    pub kind: String,
    pub help: String,
    /// Label names, in the order of the values in `processSeries()`.
    pub labels: Vec<String>,
}

/// The metric families of `metrics()`, in its order: live, tracked, collected, sample ratio.
#[napi(catch_unwind)]
pub fn metric_families() -> Vec<MetricFamily> {
    FAMILIES
        .iter()
        .map(|f| MetricFamily {
            name: f.name.to_owned(),
            kind: f.kind.as_str().to_owned(),
            help: f.help.to_owned(),
            labels: f.labels.iter().map(|l| (*l).to_owned()).collect(),
        })
        .collect()
}

/// The series of `metrics()`, for metrics libraries and the live page: three flat arrays,
/// `[key, origin, thread, live, ...]`, `[key, thread, tracked, collected, ...]` and
/// `[thread, tracker, sample, ...]`. One entry per label set: trackers of one thread add up, and
/// so do names that differ only in lone surrogates (which become U+FFFD here).
#[napi(
    catch_unwind,
    ts_return_type = "[Array<string | number>, Array<string | number>, Array<number>]"
)]
pub fn process_series(env: &Env) -> Result<Unknown<'_>> {
    let views = TABLE.views();
    let series = process::series(&views);
    let number = |n: f64| -> Result<sys::napi_value> { Ok(env.create_double(n)?.raw()) };
    let text = |s: &str| -> Result<sys::napi_value> { Ok(env.create_string(s)?.raw()) };
    let mut live = Vec::with_capacity(series.live.len() * 4);
    for ((key, origin, thread), n) in &series.live {
        live.extend([
            text(key)?,
            text(origin)?,
            number(f64::from(*thread))?,
            number(*n as f64)?,
        ]);
    }
    let mut totals = Vec::with_capacity(series.totals.len() * 4);
    for ((key, thread), (tracked, collected)) in &series.totals {
        totals.extend([
            text(key)?,
            number(f64::from(*thread))?,
            number(*tracked as f64)?,
            number(*collected as f64)?,
        ]);
    }
    let mut samples = Vec::with_capacity(series.samples.len() * 3);
    for ((thread, slot), sample) in &series.samples {
        samples.extend([
            number(f64::from(*thread))?,
            number(f64::from(*slot))?,
            number(*sample)?,
        ]);
    }
    let arrays = [
        weak::new_array(env.raw(), &live)?,
        weak::new_array(env.raw(), &totals)?,
        weak::new_array(env.raw(), &samples)?,
    ];
    let array = weak::new_array(env.raw(), &arrays)?;
    // SAFETY: `array` is an array handle just created in `env`, alive in the current scope.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), array) })
}

/// Panics, on purpose: the test that a panic in native code becomes a JavaScript error (every
/// function of the addon is `catch_unwind`) rather than an abort of the process. Internal.
#[napi(catch_unwind)]
pub fn panic_probe() {
    #[expect(
        clippy::panic,
        reason = "the one deliberate panic, to test that panics are caught"
    )]
    std::panic::panic_any("weak-tracker: panic probe");
}
