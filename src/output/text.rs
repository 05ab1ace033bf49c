//! Terminal tables: one row per connection, or one connection's two timelines side by side.

use std::fmt::Write as _;

use crate::frame::Timestamp;
use crate::output::plural;
use crate::output::time::{relative, utc};
use crate::tcp::state::Names;
use crate::timeline::{Cause, Connection, Role, RoleBasis, Transition};
use crate::Report;

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// A table with left-aligned columns sized to their widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        let parts: Vec<String> =
            cells.iter().enumerate().map(|(i, c)| if i == last { c.clone() } else { pad(c, widths[i]) }).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

fn duration(secs: f64) -> String {
    format!("{secs:.6}s")
}

/// One connection's line in the `analyze` table, kept instead of the whole connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: u64,
    pub start: Timestamp,
    cells: [String; 6],
    guessed_roles: bool,
}

impl Row {
    pub fn of(c: &Connection, names: Names) -> Row {
        let guessed_roles = c.roles == RoleBasis::Port;
        Row {
            id: c.id,
            start: c.start,
            cells: [
                format!("{}{}", c.client, if guessed_roles { "*" } else { "" }),
                c.server.to_string(),
                duration(c.duration.as_secs_f64()),
                c.endpoints.client.final_state.name(names).to_string(),
                c.endpoints.server.final_state.name(names).to_string(),
                c.ending.to_string(),
            ],
            guessed_roles,
        }
    }
}

/// The `analyze` table: one row per connection, rows in id order.
pub fn summary_table(report: &Report, rows: &[Row]) -> String {
    let origin = report.first_ts.unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} ({} TCP), {}, capture starts {}",
        report.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        plural(report.frames.total, "frame", "frames"),
        report.frames.tcp,
        plural(rows.len(), "connection", "connections"),
        utc(origin)
    );
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let [client, server, dur, cend, send, ending] = r.cells.clone();
            vec![r.id.to_string(), client, server, relative(r.start, origin), dur, cend, send, ending]
        })
        .collect();
    out.push_str(&table(
        &["ID", "CLIENT", "SERVER", "START", "DURATION", "CLIENT END", "SERVER END", "ENDING"],
        &lines,
    ));
    if rows.iter().any(|r| r.guessed_roles) {
        out.push_str("* no handshake seen: roles guessed from the ports\n");
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn cell(t: &Transition, names: Names) -> String {
    let inferred = if t.inferred { " (inferred)" } else { "" };
    format!("{:<12} {}{inferred}", t.state.name(names), t.cause)
}

/// Both endpoints' timelines merged in time order, one column each.
pub fn connection_timelines(report: &Report, c: &Connection, names: Names) -> String {
    let origin: Timestamp = report.first_ts.unwrap_or(c.start);
    let mut out = String::new();
    let _ = writeln!(out, "connection {}: client {} → server {}", c.id, c.client, c.server);
    let _ = writeln!(
        out,
        "ending: {}; {} frames {}–{}, duration {}",
        c.ending,
        c.traffic[0].packets + c.traffic[1].packets,
        c.first_frame,
        c.last_frame,
        duration(c.duration.as_secs_f64())
    );
    if c.roles == RoleBasis::Port {
        let _ = writeln!(out, "no handshake seen: roles guessed from the ports");
    }
    let mut entries: Vec<(Timestamp, usize, Role, &Transition)> = Vec::new();
    for role in [Role::Client, Role::Server] {
        for (i, t) in c.endpoints.get(role).timeline.iter().enumerate() {
            entries.push((t.ts, i, role, t));
        }
    }
    // Within one frame the sender's step comes before the receiver's.
    entries.sort_by_key(|(ts, i, role, t)| (*ts, t.frame, matches!(t.cause, Cause::Received(_)), *role, *i));
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|(ts, _, role, t)| {
            let frame = t.frame.map_or("-".to_string(), |f| f.to_string());
            let (client, server) = match role {
                Role::Client => (cell(t, names), String::new()),
                Role::Server => (String::new(), cell(t, names)),
            };
            vec![relative(*ts, origin), frame, client, server]
        })
        .collect();
    out.push_str(&table(&["TIME", "FRAME", "CLIENT", "SERVER"], &rows));
    if !c.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for n in &c.notes {
            let _ = writeln!(out, "  frame {}: {}: {}", n.frame, n.by, n.kind);
        }
    }
    out
}
