//! Expectations for CI: a small, hand-editable file of what a capture's timelines must be, and
//! the first-difference report when they are not.
//!
//! Format (`tcpstate-expect/1`): one object per connection with its id, addresses, ending, and
//! each endpoint's timeline as lines `STATE [@FRAME] CAUSE [(inferred)] [t=SECONDS]`, e.g.
//! `"FIN_WAIT_1 @12 sent FIN,ACK"`. Timestamps are written only when asked for
//! (`"timestamps": {"tolerance": 0.000001}`), and then compared within that tolerance.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::frame::Timestamp;
use crate::timeline::{Connection, Transition};

pub const SCHEMA: &str = "tcpstate-expect/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<TimestampCheck>,
    pub connections: Vec<ExpectedConnection>,
}

#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimestampCheck {
    /// Seconds by which a timestamp may differ.
    pub tolerance: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedConnection {
    pub id: u64,
    pub client: String,
    pub server: String,
    pub ending: String,
    pub client_timeline: Vec<String>,
    pub server_timeline: Vec<String>,
}

fn line(t: &Transition, with_ts: bool) -> String {
    let mut s = t.state.rfc_name().to_string();
    if let Some(f) = t.frame {
        let _ = write!(s, " @{f}");
    }
    let _ = write!(s, " {}", t.cause);
    if t.inferred {
        s.push_str(" (inferred)");
    }
    if with_ts {
        let _ = write!(s, " t={}", t.ts);
    }
    s
}

/// What `--bless` writes: the current analysis as an expectation.
pub fn expectation(conns: &[Connection], timestamps: Option<TimestampCheck>) -> Expectation {
    let ts = timestamps.is_some();
    Expectation {
        schema: SCHEMA.to_string(),
        timestamps,
        connections: conns
            .iter()
            .map(|c| ExpectedConnection {
                id: c.id,
                client: c.client.to_string(),
                server: c.server.to_string(),
                ending: c.ending.to_string(),
                client_timeline: c.endpoints.client.timeline.iter().map(|t| line(t, ts)).collect(),
                server_timeline: c.endpoints.server.timeline.iter().map(|t| line(t, ts)).collect(),
            })
            .collect(),
    }
}

/// Splits off a trailing ` t=SECONDS`.
fn split_ts(s: &str) -> (&str, Option<Timestamp>) {
    match s.rsplit_once(" t=") {
        Some((head, t)) => match serde_json::from_str::<Timestamp>(t) {
            Ok(ts) => (head, Some(ts)),
            Err(_) => (s, None),
        },
        None => (s, None),
    }
}

fn same_line(expected: &str, got: &str, tolerance: Option<f64>) -> bool {
    match tolerance {
        None => expected == got,
        Some(tol) => {
            let ((e, et), (g, gt)) = (split_ts(expected), split_ts(got));
            e == g
                && match (et, gt) {
                    (Some(a), Some(b)) => (a.0 - b.0).unsigned_abs() as f64 <= tol * 1e9,
                    (None, None) => true,
                    _ => false,
                }
        }
    }
}

/// The differences, most important first: the first one in full, then a count of the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub differences: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    /// The first difference, and how many more there are.
    pub fn summary(&self) -> String {
        match self.differences.as_slice() {
            [] => "no differences".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first}\n  … and {} more difference(s)", rest.len()),
        }
    }
}

pub fn compare(expected: &Expectation, got: &[Connection]) -> Diff {
    let actual = expectation(got, expected.timestamps);
    let tol = expected.timestamps.map(|t| t.tolerance);
    let mut diff = Diff::default();
    for e in &expected.connections {
        let Some(g) = actual.connections.iter().find(|g| g.id == e.id) else {
            diff.differences.push(format!("connection {}: expected ({} → {}), not found", e.id, e.client, e.server));
            continue;
        };
        let c = e.id;
        if (e.client.as_str(), e.server.as_str()) != (g.client.as_str(), g.server.as_str()) {
            diff.differences
                .push(format!("connection {c}: expected {} → {}, got {} → {}", e.client, e.server, g.client, g.server));
        }
        for (role, et, gt) in
            [("client", &e.client_timeline, &g.client_timeline), ("server", &e.server_timeline, &g.server_timeline)]
        {
            let n = et.len().max(gt.len());
            for i in 0..n {
                let (el, gl) = (et.get(i), gt.get(i));
                let same = matches!((el, gl), (Some(a), Some(b)) if same_line(a, b, tol));
                if !same {
                    let show = |l: Option<&String>| l.map_or("(nothing)".to_string(), |s| format!("`{s}`"));
                    diff.differences.push(format!(
                        "connection {c}, {role} transition {i}: expected {}, got {}",
                        show(el),
                        show(gl)
                    ));
                }
            }
        }
        if e.ending != g.ending {
            diff.differences.push(format!("connection {c}: expected ending `{}`, got `{}`", e.ending, g.ending));
        }
    }
    for g in &actual.connections {
        if !expected.connections.iter().any(|e| e.id == g.id) {
            diff.differences.push(format!("connection {}: unexpected ({} → {})", g.id, g.client, g.server));
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_within_tolerance() {
        assert!(same_line(
            "CLOSED @3 received ACK t=10.000000001",
            "CLOSED @3 received ACK t=10.000000900",
            Some(1e-6)
        ));
        assert!(!same_line("CLOSED @3 received ACK t=10.0", "CLOSED @3 received ACK t=10.1", Some(1e-3)));
        assert!(!same_line("CLOSED @3 received ACK", "CLOSED @4 received ACK", None));
    }

    #[test]
    fn diff_summary_names_the_first_and_counts_the_rest() {
        let d = Diff { differences: vec!["a".into(), "b".into(), "c".into()] };
        assert_eq!(d.summary(), "a\n  … and 2 more difference(s)");
    }
}
