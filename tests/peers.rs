//! Zeek agreement: every Zeek baseline in ../shared/public-traces compared, row by row, with
//! the `peers.zeek` fields of our connections. Rows are matched by 4-tuple in order; every
//! disagreement must be one of the documented ones below (README "Zeek/Wireshark fields").

use std::collections::BTreeMap;
use std::path::PathBuf;

use tcpstate::peers::zeek::Zeek;
use tcpstate::timeline::Connection;

use crate::support::{public_traces, run};

/// One conn.log row, with only the columns the baseline has.
#[derive(Debug, Default, Clone)]
struct Row {
    orig: Option<String>,
    resp: Option<String>,
    conn_state: Option<String>,
    history: Option<String>,
    orig_pkts: Option<u64>,
    resp_pkts: Option<u64>,
}

/// Parses a conn.log (`#fields` header) or a `zeek-cut -m` subset (plain header line); only
/// TCP rows are kept when the `proto` column is there.
fn parse_conn_log(text: &str) -> Vec<Row> {
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("#fields\t") {
            header = Some(h.split('\t').map(str::to_string).collect());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some(h) = &header else {
            header = Some(line.split('\t').map(str::to_string).collect());
            continue;
        };
        let cells: BTreeMap<&str, &str> = h.iter().map(String::as_str).zip(line.split('\t')).collect();
        if cells.get("proto").is_some_and(|p| *p != "tcp") {
            continue;
        }
        let endpoint = |h: &str, p: &str| match (cells.get(h), cells.get(p)) {
            (Some(a), Some(port)) => Some(format!("{}:{port}", bracket(a))),
            _ => None,
        };
        rows.push(Row {
            orig: endpoint("id.orig_h", "id.orig_p"),
            resp: endpoint("id.resp_h", "id.resp_p"),
            conn_state: cells.get("conn_state").map(|s| s.to_string()),
            history: cells.get("history").map(|s| s.to_string()),
            orig_pkts: cells.get("orig_pkts").and_then(|s| s.parse().ok()),
            resp_pkts: cells.get("resp_pkts").and_then(|s| s.parse().ok()),
        });
    }
    rows
}

fn bracket(a: &str) -> String {
    if a.contains(':') {
        format!("[{a}]")
    } else {
        a.to_string()
    }
}

/// Every (capture, baseline rows) pair of the public traces.
fn baselines() -> Vec<(PathBuf, Vec<Row>)> {
    let zeek = public_traces().join("zeek");
    let mut out = Vec::new();
    let mut stack = vec![zeek];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = || std::fs::read_to_string(&path).unwrap();
            let capture = |suffix: &str| dir.join(name.strip_suffix(suffix).unwrap());
            if name.ends_with(".zeek-conn.log") || name.ends_with(".zeek-conn-default.log.cut") {
                let suffix =
                    if name.ends_with(".zeek-conn.log") { ".zeek-conn.log" } else { ".zeek-conn-default.log.cut" };
                out.push((capture(suffix), parse_conn_log(&text())));
            } else if name.ends_with(".zeek-history-conn_state.txt") {
                let line = text().lines().find(|l| !l.starts_with('#')).unwrap().to_string();
                let (history, state) = line.split_once(", ").unwrap();
                out.push((
                    capture(".zeek-history-conn_state.txt"),
                    vec![Row {
                        history: Some(history.to_string()),
                        conn_state: Some(state.to_string()),
                        ..Row::default()
                    }],
                ));
            } else if name.ends_with(".zeek-events.txt") {
                // connection_state_remove carries the final conn id and history.
                let t = text();
                let line = t.lines().find(|l| l.contains("connection_state_remove")).unwrap();
                let field = |k: &str| {
                    let at = line.find(k).unwrap() + k.len();
                    line[at..].split([',', '/']).next().unwrap().to_string()
                };
                let history = line.rsplit(", ").nth(1).unwrap().to_string();
                out.push((
                    capture(".zeek-events.txt"),
                    vec![Row {
                        orig: Some(format!("{}:{}", field("orig_h="), field("orig_p="))),
                        resp: Some(format!("{}:{}", field("resp_h="), field("resp_p="))),
                        history: Some(history),
                        ..Row::default()
                    }],
                ));
            } else if name.ends_with(".zeek-endpoints.txt") {
                // Endpoint states (5 CLOSED, 6 RESET, 1 SYN_SENT) give conn_state by main.zeek's
                // rules: CLOSED/RESET → RSTR; SYN_SENT/RESET → REJ.
                let t = text();
                let states: Vec<&str> =
                    t.lines().filter_map(|l| l.split("state=").nth(1)).map(|r| r.split(',').next().unwrap()).collect();
                let conn_state = match states.as_slice() {
                    ["5", "6"] => "RSTR",
                    ["1", "6"] => "REJ",
                    other => panic!("{name}: unexpected endpoint states {other:?}"),
                };
                out.push((
                    capture(".zeek-endpoints.txt"),
                    vec![Row { conn_state: Some(conn_state.to_string()), ..Row::default() }],
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The unordered 4-tuple of a row or a connection.
fn key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Compares one row with one connection: the differing fields, as `field: ours ≠ zeek`.
fn compare(row: &Row, z: &Zeek) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |field: &str, ours: String, theirs: &Option<String>| {
        if let Some(t) = theirs {
            if &ours != t {
                diffs.push(format!("{field}: ours {ours} ≠ zeek {t}"));
            }
        }
    };
    check("orig", z.orig.to_string(), &row.orig);
    check("conn_state", z.conn_state.to_string(), &row.conn_state);
    check("history", z.history.clone(), &row.history);
    check("orig_pkts", z.orig_pkts.to_string(), &row.orig_pkts.map(|n| n.to_string()));
    check("resp_pkts", z.resp_pkts.to_string(), &row.resp_pkts.map(|n| n.to_string()));
    diffs
}

/// Per capture and row: the connection it matched (None: no connection of ours is left for
/// its 4-tuple, i.e. Zeek split one of ours) and the differences.
fn agreement() -> Vec<(String, usize, Option<u64>, Vec<String>)> {
    let mut out = Vec::new();
    for (capture, rows) in baselines() {
        let (_, conns) = run(&capture);
        let name = capture.strip_prefix(public_traces()).unwrap().display().to_string();
        let records: Vec<(u64, &Zeek)> =
            conns.iter().flat_map(|c: &Connection| c.peers.zeek.iter().map(move |z| (c.id, z))).collect();
        let mut used = vec![false; records.len()];
        for (i, row) in rows.iter().enumerate() {
            let found = records.iter().enumerate().find(|(j, (_, z))| {
                !used[*j]
                    && match (&row.orig, &row.resp) {
                        (Some(o), Some(r)) => key(o, r) == key(&z.orig.to_string(), &z.resp.to_string()),
                        _ => true,
                    }
            });
            match found {
                Some((j, (id, z))) => {
                    used[j] = true;
                    out.push((name.clone(), i, Some(*id), compare(row, z)));
                }
                None => out.push((name.clone(), i, None, vec!["no connection".into()])),
            }
        }
    }
    out
}

/// The disagreements we know and explain (README "Zeek/Wireshark fields"): (capture, row,
/// differing fields).
const DOCUMENTED: [(&str, usize, &str); 3] = [
    // The Zeek test that produced this baseline empties `likely_server_ports` to exercise the
    // SYN/SYN-ACK reversal flip; with Zeek's default ports (ours) the SYN-ACK from port 80 is
    // flipped at once, so the same packets read "^hS..." instead of "Hs^...".
    ("zeek/tcp/handshake-reorder.pcap", 0, "history"),
    // The capture's snap length (54 bytes) cut every payload: Zeek's reassembler counts
    // uncaptured payload as content gaps (G, g); the model keeps the IP-declared length only.
    ("zeek/tcp/retransmit-fast009.pcap", 0, "history"),
    // The SYN has a bad TCP checksum: Zeek drops it (history C, 0 packets); we, like Wireshark
    // by default, do not validate checksums.
    ("zeek/tcp/syn-bad.pcap", 0, "conn_state history orig_pkts"),
];

#[test]
fn zeek_conn_state_and_history_agree_with_every_baseline_row() {
    let results = agreement();
    let mut unexplained = Vec::new();
    let mut agree = 0;
    for (cap, row, id, diffs) in &results {
        if diffs.is_empty() {
            agree += 1;
            continue;
        }
        let fields: Vec<&str> = diffs.iter().map(|d| d.split(':').next().unwrap_or("")).collect();
        let documented = DOCUMENTED.iter().any(|(c, r, f)| c == cap && r == row && *f == fields.join(" "));
        if !documented {
            unexplained.push(format!("{cap} row {row} (conn {id:?}): {}", diffs.join("; ")));
        }
    }
    println!("Zeek agreement: {agree}/{} rows", results.len());
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
    assert_eq!(results.len(), 64, "baseline rows (TCP) in public-traces/zeek");
    assert_eq!(agree, 61);
}

#[test]
fn zeek_splits_an_unanswered_attempt_after_five_seconds_like_conn_log() {
    let cap = public_traces().join("zeek/ssh/ssh.client-side-half-duplex.pcap");
    let (_, conns) = run(&cap);
    let first = &conns[0].peers.zeek;
    assert_eq!(first.len(), 2);
    assert_eq!((first[0].conn_state.as_str(), first[0].history.as_str()), ("S0", "SAD"));
    assert_eq!((first[1].conn_state.as_str(), first[1].history.as_str()), ("SH", "DAF"));
    assert_eq!((first[0].orig_pkts, first[1].orig_pkts), (19, 6));
}

/// (capture, stream → tcp.completeness) from every `*.tshark-fields.txt` (made with `-2`, so
/// each frame shows its stream's final value).
fn tshark_completeness() -> Vec<(PathBuf, BTreeMap<u64, u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![public_traces()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().to_string();
            let Some(capture) = name.strip_suffix(".tshark-fields.txt") else {
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
            let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
            let (stream, comp) = (col("tcp.stream"), col("tcp.completeness"));
            let mut map = BTreeMap::new();
            for l in lines.filter(|l| !l.is_empty()) {
                let cells: Vec<&str> = l.split('\t').collect();
                let s: u64 = cells[stream].split('|').next().unwrap().parse().unwrap();
                let c: u8 = cells[comp].split('|').next().unwrap().parse().unwrap();
                map.insert(s, c);
            }
            out.push((PathBuf::from(capture), map));
        }
    }
    out.sort();
    out
}

/// Streams where tshark differs, explained: Wireshark's FTP dissector creates the
/// conversation of a passive-mode (EPSV) data connection from the control channel's reply,
/// before its SYN; that SYN then creates nothing and the SYN bit stays clear (30, not 31).
/// We see TCP only.
const COMPLETENESS_DOCUMENTED: [(&str, u64); 3] =
    [("zeek/ftp/ipv6.pcap", 1), ("zeek/ftp/ipv6.pcap", 2), ("zeek/ftp/ipv6.pcap", 3)];

#[test]
fn wireshark_completeness_equals_tshark_on_every_public_trace() {
    let (mut streams, mut agree) = (0, 0);
    let mut failures = Vec::new();
    for (capture, expected) in tshark_completeness() {
        let (_, conns) = run(&capture);
        let name = capture.strip_prefix(public_traces()).unwrap().display().to_string();
        for (stream, want) in &expected {
            streams += 1;
            let got =
                conns.iter().find(|c| c.peers.wireshark.tcp_stream == *stream).map(|c| c.peers.wireshark.completeness);
            if got == Some(*want) {
                agree += 1;
            } else if !COMPLETENESS_DOCUMENTED.contains(&(name.as_str(), *stream)) {
                failures.push(format!("{name} stream {stream}: ours {got:?}, tshark {want}"));
            }
        }
    }
    println!("tcp.completeness agreement: {agree}/{streams} streams");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((agree, streams), (117, 120));
}

#[test]
fn fin_retransmissions_after_a_complete_close_become_new_zeek_rows() {
    // zeek/zeek#862: Zeek removes a closed connection 5 s (tcp_close_delay) after the close;
    // each later retransmitted FIN opens a new conn.log row, flipped towards port 443.
    let (_, conns) = run(&public_traces().join("suricata-verify/bug-2646-01/input.pcap"));
    let rows: Vec<(String, String)> =
        conns[0].peers.zeek.iter().map(|z| (z.conn_state.to_string(), z.history.clone())).collect();
    let shr = ("SHR".to_string(), "^f".to_string());
    assert_eq!(rows, vec![("SF".to_string(), "ShADadFft".to_string()), shr.clone(), shr.clone(), shr.clone(), shr]);
}
