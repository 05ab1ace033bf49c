//! The `tcpstate summary` table: outcomes, time in state, diagnoses and Zeek's view, from a
//! [`Summary`]. Long id lists are cut to the first few; `--json` has them all.

use std::fmt::Write as _;

use crate::frame::Duration;
use crate::output::text::table;
use crate::output::time::utc;
use crate::summary::{Finding, IdList, StateTime, Summary};

/// Ids shown per list before "+N more".
const SHOWN_IDS: usize = 12;
/// Findings shown per diagnosis.
const SHOWN_FINDINGS: usize = 10;

/// Seconds with microseconds: fixed format, so output is identical everywhere.
fn secs(d: Duration) -> String {
    format!("{:.6}s", d.as_secs_f64())
}

fn ids(list: &IdList) -> String {
    let mut s: Vec<String> = list
        .ids
        .iter()
        .take(SHOWN_IDS)
        .map(u64::to_string)
        .collect();
    if list.ids.len() > SHOWN_IDS {
        s.push(format!("… (+{} more)", list.ids.len() - SHOWN_IDS));
    }
    s.join(", ")
}

/// The summary; with `per_connection`, also one line per connection in each tool's words.
pub fn render(s: &Summary, per_connection: bool) -> String {
    let mut out = String::new();
    let span = match (s.first_ts, s.last_ts) {
        (Some(a), Some(b)) => format!("{} → {} ({})", utc(a), utc(b), secs(b.since(a))),
        _ => "no frames".to_string(),
    };
    let _ = writeln!(
        out,
        "{}: {} frames ({} TCP), {} connections, {span}",
        s.files.join(", "),
        s.frames.total,
        s.frames.tcp,
        s.connections
    );

    let _ = writeln!(out, "\nOutcomes");
    let mut rows: Vec<Vec<String>> = s
        .outcomes
        .iter()
        .map(|g| {
            vec![
                g.label.clone(),
                g.connections.count.to_string(),
                ids(&g.connections),
            ]
        })
        .collect();
    if s.picked_up_mid_stream.count > 0 {
        rows.push(vec![
            "(of which picked up mid-stream)".to_string(),
            s.picked_up_mid_stream.count.to_string(),
            ids(&s.picked_up_mid_stream),
        ]);
    }
    out.push_str(&indent(&table(&["outcome", "count", "connections"], &rows)));

    let _ = writeln!(
        out,
        "\nTime in state (last state lasts until the capture ends; \"open\" = still there)"
    );
    let mut rows = Vec::new();
    for (side, times) in [
        ("client", &s.time_in_state.client),
        ("server", &s.time_in_state.server),
    ] {
        rows.extend(times.iter().map(|t| state_row(side, t)));
    }
    out.push_str(&indent(&table(
        &[
            "side", "state", "visits", "p50", "p90", "max", "max in", "open",
        ],
        &rows,
    )));

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
        let rows: Vec<Vec<String>> = d
            .findings
            .iter()
            .take(SHOWN_FINDINGS)
            .map(finding_row)
            .collect();
        out.push_str(&indent(&indent(&table(
            &["conn", "endpoint", "frames", "lasted"],
            &rows,
        ))));
        if d.findings.len() > SHOWN_FINDINGS {
            let _ = writeln!(
                out,
                "    … {} more (tcpstate summary --json lists all)",
                d.findings.len() - SHOWN_FINDINGS
            );
        }
    }

    let _ = writeln!(
        out,
        "\nZeek conn_state (conn.log rows; per connection in --json)"
    );
    let states: Vec<String> = s
        .zeek_conn_states
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(out, "  {}", states.join("  "));
    if per_connection {
        let _ = writeln!(out, "\nConnections (tcp.stream = id)");
        let rows: Vec<Vec<String>> = s
            .per_connection
            .iter()
            .map(|c| {
                let zeek: Vec<String> = c
                    .zeek
                    .iter()
                    .map(|z| format!("{} {}", z.conn_state, z.history))
                    .collect();
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
            &[
                "id",
                "client",
                "server",
                "outcome",
                "completeness",
                "zeek conn_state history",
            ],
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
        secs(t.p50),
        secs(t.p90),
        secs(t.max),
        format!("conn {}", t.max_connection),
        t.open_at_end.to_string(),
    ]
}

fn finding_row(f: &Finding) -> Vec<String> {
    let frames: Vec<String> = f.frames.iter().take(6).map(|x| x.to_string()).collect();
    let more = if f.frames.len() > 6 {
        format!(" (+{})", f.frames.len() - 6)
    } else {
        String::new()
    };
    vec![
        f.connection.to_string(),
        f.endpoint.map_or("-".to_string(), |r| r.to_string()),
        format!("{}{more}", frames.join(", ")),
        f.duration.map_or(String::new(), secs),
    ]
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
