//! The `tcpstate summary` table: outcomes, time in state, diagnoses and Zeek's view, from a
//! [`Summary`]. Long id lists are cut to the first few; `--json` has them all.

use std::fmt::Write as _;

use crate::frame::Duration;
use crate::output::plural;
use crate::output::text::table;
use crate::output::time::utc;
use crate::summary::{Finding, IdList, StateTime, Summary};

/// Ids shown per list before "+N more".
const SHOWN_IDS: usize = 12;
/// Findings shown per diagnosis.
const SHOWN_FINDINGS: usize = 10;

/// A duration in the unit a person reads best, from integer nanoseconds (no float rounding
/// differences between machines): `850µs`, `12.345ms`, `4.500s`, `12m05s`, `3h02m10s`,
/// `1122d03h04m`.
pub fn human(d: Duration) -> String {
    let ns = d.0.max(0);
    let s = ns / 1_000_000_000;
    if ns < 1_000_000 {
        format!("{}µs", ns / 1_000)
    } else if ns < 1_000_000_000 {
        format!("{}.{:03}ms", ns / 1_000_000, ns / 1_000 % 1_000)
    } else if s < 60 {
        format!("{s}.{:03}s", ns / 1_000_000 % 1_000)
    } else if s < 3_600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m{:02}s", s / 3_600, s / 60 % 60, s % 60)
    } else {
        format!("{}d{:02}h{:02}m", s / 86_400, s / 3_600 % 24, s / 60 % 60)
    }
}

fn ids(list: &IdList) -> String {
    let mut s: Vec<String> = list.ids.iter().take(SHOWN_IDS).map(u64::to_string).collect();
    if list.ids.len() > SHOWN_IDS {
        s.push(format!("… (+{} more)", list.ids.len() - SHOWN_IDS));
    }
    s.join(", ")
}

/// The summary; with `per_connection`, also one line per connection in each tool's words.
pub fn render(s: &Summary, per_connection: bool) -> String {
    let mut out = String::new();
    let span = match (s.first_ts, s.last_ts) {
        (Some(a), Some(b)) => format!("{} → {} ({})", utc(a), utc(b), human(b.since(a))),
        _ => "no frames".to_string(),
    };
    let _ = writeln!(
        out,
        "{}: {} ({} TCP), {}, {span}",
        s.files.join(", "),
        plural(s.frames.total, "frame", "frames"),
        s.frames.tcp,
        plural(s.connections, "connection", "connections")
    );

    let _ = writeln!(out, "\nOutcomes");
    let mut rows: Vec<Vec<String>> = s
        .outcomes
        .iter()
        .map(|g| vec![g.label.clone(), g.connections.count.to_string(), ids(&g.connections)])
        .collect();
    if s.picked_up_mid_stream.count > 0 {
        rows.push(vec![
            "(of which picked up mid-stream)".to_string(),
            s.picked_up_mid_stream.count.to_string(),
            ids(&s.picked_up_mid_stream),
        ]);
    }
    out.push_str(&indent(&table(&["outcome", "count", "connections"], &rows)));

    let _ = writeln!(out, "\nTime in state (last state lasts until the capture ends; \"open\" = still there)");
    let mut rows = Vec::new();
    for (side, times) in [("client", &s.time_in_state.client), ("server", &s.time_in_state.server)] {
        rows.extend(times.iter().map(|t| state_row(side, t)));
    }
    out.push_str(&indent(&table(&["side", "state", "visits", "p50", "p90", "max", "max in", "open"], &rows)));

    let _ = writeln!(out, "\nDiagnoses");
    if s.diagnoses.is_empty() {
        let _ = writeln!(out, "  none: no connection shows a known problem");
    }
    for d in &s.diagnoses {
        let _ = writeln!(
            out,
            "  {} — {} connection{}: {}",
            d.title,
            d.connections,
            if d.connections == 1 { "" } else { "s" },
            d.explanation
        );
        let rows: Vec<Vec<String>> = d.findings.iter().take(SHOWN_FINDINGS).map(finding_row).collect();
        out.push_str(&indent(&indent(&table(&["conn", "endpoint", "frames", "lasted"], &rows))));
        if d.findings.len() > SHOWN_FINDINGS {
            let _ =
                writeln!(out, "    … {} more (tcpstate summary --json lists all)", d.findings.len() - SHOWN_FINDINGS);
        }
    }

    let _ = writeln!(out, "\nZeek conn_state (conn.log rows; per connection: --connections or --json)");
    let rows: Vec<Vec<String>> =
        s.zeek_conn_states.iter().map(|(k, n)| vec![k.to_string(), n.to_string(), k.meaning().to_string()]).collect();
    out.push_str(&indent(&table(&["conn_state", "rows", "meaning"], &rows)));
    if per_connection {
        let _ = writeln!(out, "\nConnections (tcp.stream = id)");
        let rows: Vec<Vec<String>> = s
            .per_connection
            .iter()
            .map(|c| {
                let zeek: Vec<String> = c.zeek.iter().map(|z| format!("{} {}", z.conn_state, z.history)).collect();
                vec![
                    c.id.to_string(),
                    c.client.clone(),
                    c.server.clone(),
                    c.outcome.clone(),
                    c.completeness.to_string(),
                    zeek.join(" | "),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["id", "client", "server", "outcome", "completeness", "zeek conn_state history"],
            &rows,
        )));
    }
    out
}

fn state_row(side: &str, t: &StateTime) -> Vec<String> {
    vec![
        side.to_string(),
        t.state.to_string(),
        t.visits.to_string(),
        human(t.p50),
        human(t.p90),
        human(t.max),
        format!("conn {}", t.max_connection),
        t.open_at_end.to_string(),
    ]
}

fn finding_row(f: &Finding) -> Vec<String> {
    let frames: Vec<String> = f.frames.iter().take(6).map(|x| x.to_string()).collect();
    let more = if f.frames.len() > 6 { format!(" (+{})", f.frames.len() - 6) } else { String::new() };
    vec![
        f.connection.to_string(),
        f.endpoint.map_or("-".to_string(), |r| r.to_string()),
        format!("{}{more}", frames.join(", ")),
        f.duration.map_or(String::new(), human),
    ]
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_natural_unit() {
        let d = |ns: i64| human(Duration(ns));
        assert_eq!(d(850_000), "850µs");
        assert_eq!(d(12_345_678), "12.345ms");
        assert_eq!(d(4_500_000_000), "4.500s");
        assert_eq!(d(725_000_000_000), "12m05s");
        assert_eq!(d(10_930_000_000_000), "3h02m10s");
        assert_eq!(d(96_970_188_874_553_000), "1122d08h09m");
    }
}
