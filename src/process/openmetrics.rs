#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The metric families, defined once for every writer (this OpenMetrics text, and the prom-client
//! collectors of `lib/prometheus.js`, which read [`FAMILIES`] through the facade), and the text
//! writer.

use std::fmt::Write as _;

use super::{series, View};

/// How a family's values behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A metric family: its name (a counter's samples add `_total`), kind, help text and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

impl Family {
    /// The name of the family's samples.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Gauge => self.name.to_owned(),
            Kind::Counter => format!("{}_total", self.name),
        }
    }
}

pub const LIVE: Family = Family {
    name: "weak_tracker_live",
    kind: Kind::Gauge,
    help: "Live tracked objects per key and line: tracked ones at once, freed ones as of each thread's last sweep.",
    labels: &["key", "origin", "thread"],
};

pub const TRACKED: Family = Family {
    name: "weak_tracker_tracked",
    kind: Kind::Counter,
    help: "Objects tracked per key.",
    labels: &["key", "thread"],
};

pub const COLLECTED: Family = Family {
    name: "weak_tracker_collected",
    kind: Kind::Counter,
    help: "Tracked objects found collected per key.",
    labels: &["key", "thread"],
};

pub const SAMPLE_RATIO: Family = Family {
    name: "weak_tracker_sample_ratio",
    kind: Kind::Gauge,
    help: "The fraction of track() calls each tracker records; tracker numbers the live trackers of a thread from 0, reused.",
    labels: &["thread", "tracker"],
};

/// Every family, in the order both writers write them.
pub const FAMILIES: [Family; 4] = [LIVE, TRACKED, COLLECTED, SAMPLE_RATIO];

/// The media type of [`openmetrics`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value as OpenMetrics writes it: backslash, double quote and newline escaped.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// One sample line of `family`, its label values in the family's order.
fn sample(out: &mut String, family: &Family, values: &[&str], value: impl std::fmt::Display) {
    out.push_str(family.name);
    if family.kind == Kind::Counter {
        out.push_str("_total");
    }
    out.push('{');
    for (i, (name, value)) in family.labels.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(value, out);
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}

fn header(out: &mut String, family: &Family) {
    let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
    let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
}

/// The process-wide figures in the OpenMetrics text format, ending with `# EOF`: one series per
/// label set (see [`super::Series`]).
pub fn openmetrics(views: &[View]) -> String {
    let series = series(views);
    let mut out = String::new();
    header(&mut out, &LIVE);
    for ((key, origin, thread), n) in &series.live {
        sample(&mut out, &LIVE, &[key, origin, &thread.to_string()], n);
    }
    for (family, column) in [(&TRACKED, 0), (&COLLECTED, 1)] {
        header(&mut out, family);
        for ((key, thread), totals) in &series.totals {
            let n = if column == 0 { totals.0 } else { totals.1 };
            sample(&mut out, family, &[key, &thread.to_string()], n);
        }
    }
    header(&mut out, &SAMPLE_RATIO);
    for ((thread, slot), ratio) in &series.samples {
        let values = [thread.to_string(), slot.to_string()];
        sample(&mut out, &SAMPLE_RATIO, &[&values[0], &values[1]], ratio);
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Name, Row, Totals};
    use super::*;
    use std::sync::Arc;

    fn name(s: &str) -> Arc<Name> {
        Arc::new(Name::Utf8(s.into()))
    }

    #[test]
    fn label_values_are_escaped_and_the_text_ends_with_eof() {
        let view = View {
            thread: 2,
            slot: 1,
            sample: 0.5,
            rows: vec![Row {
                key: name("a\"b\\c\nd"),
                origin: name("at f (/x.js:1:2)"),
                live: 7,
            }],
            totals: vec![Totals {
                key: name("a\"b\\c\nd"),
                tracked: 9,
                collected: 2,
            }],
        };
        let text = openmetrics(&[view]);
        assert!(
            text.contains(
                r#"weak_tracker_live{key="a\"b\\c\nd",origin="at f (/x.js:1:2)",thread="2"} 7"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"weak_tracker_tracked_total{key="a\"b\\c\nd",thread="2"} 9"#));
        assert!(text.contains(r#"weak_tracker_collected_total{key="a\"b\\c\nd",thread="2"} 2"#));
        assert!(text.contains(r#"weak_tracker_sample_ratio{thread="2",tracker="1"} 0.5"#));
        assert!(text.contains("# TYPE weak_tracker_collected counter\n"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn names_that_differ_only_in_lone_surrogates_are_one_series_with_their_sum() {
        let lone = Arc::new(Name::Utf16(vec![0x78, 0xD800].into()));
        let row = |key: &Arc<Name>| Row {
            key: Arc::clone(key),
            origin: name("at o"),
            live: 1,
        };
        let view = View {
            rows: vec![row(&lone), row(&name("x\u{FFFD}"))],
            ..View::default()
        };
        let text = openmetrics(&[view]);
        let lines: Vec<_> = text
            .lines()
            .filter(|l| l.starts_with("weak_tracker_live{"))
            .collect();
        assert_eq!(
            lines,
            vec!["weak_tracker_live{key=\"x\u{FFFD}\",origin=\"at o\",thread=\"0\"} 2"]
        );
    }

    #[test]
    fn every_family_is_written_with_its_type_and_help() {
        let text = openmetrics(&[]);
        for family in FAMILIES {
            assert!(text.contains(&format!(
                "# TYPE {} {}\n# HELP {} {}\n",
                family.name,
                family.kind.as_str(),
                family.name,
                family.help
            )));
            assert!(family.sample_name().starts_with(family.name));
        }
    }
}
