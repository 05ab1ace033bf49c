//! `summarize` on public captures whose story is known: outcomes, time in state, every
//! diagnosis with its connections and frames, and the JSON contract.

use std::path::Path;

use tcpstate::frame::{Duration, FrameNo};
use tcpstate::summary::{summarize, Diagnosis, DiagnosisKind, Summary, SummaryBuilder, SummaryOptions};
use tcpstate::tcp::state::State;
use tcpstate::timeline::{Ending, Role};
use tcpstate::{analyze, Options};

use crate::support::public_traces;

fn summary_with(rel: &str, opts: &Options) -> Summary {
    let path = public_traces().join(rel);
    let mut conns = Vec::new();
    let report = analyze(std::slice::from_ref(&path), opts, &mut conns)
        .unwrap_or_else(|e| panic!("{}: {e}", Path::new(rel).display()));
    summarize(&report, &conns, &SummaryOptions::default())
}

fn summary(rel: &str) -> Summary {
    summary_with(rel, &Options::default())
}

#[track_caller]
fn diagnosis(s: &Summary, kind: DiagnosisKind) -> &Diagnosis {
    s.diagnoses.iter().find(|d| d.kind == kind).unwrap_or_else(|| panic!("no {kind:?} in {:?}", s.diagnoses))
}

fn frames(v: &[u64]) -> Vec<FrameNo> {
    v.iter().copied().map(FrameNo).collect()
}

#[test]
fn one_sided_ssh_capture_diagnoses_no_close_wait_it_cannot_see() {
    let s = summary("zeek/ssh/ssh.client-side-half-duplex.pcap");
    assert_eq!(s.connections, 20);
    assert_eq!(s.outcomes.len(), 1);
    assert_eq!(s.outcomes[0].outcome, Ending::HalfClosed { by: Role::Client });
    assert_eq!(s.outcomes[0].connections.count, 20);
    // Only the clients' segments were captured: the servers' FINs may exist out of view, so
    // their CLOSE_WAIT is no finding.
    assert!(s.diagnoses.iter().all(|d| d.kind != DiagnosisKind::CloseWaitNeverLeft));
    let syn = diagnosis(&s, DiagnosisKind::SynRetransmitted);
    assert_eq!(syn.findings.len(), 1);
    assert_eq!(syn.findings[0].connection, 16);
    assert_eq!(syn.findings[0].frames, frames(&[420, 421]));
    // Zeek splits five unanswered attempts at its 5 s attempt timer: 25 rows.
    let zeek: Vec<(String, usize)> = s.zeek_conn_states.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    assert_eq!(zeek, vec![("S0".to_string(), 5), ("SH".to_string(), 20)]);
}

#[test]
fn time_in_state_percentiles_come_from_consecutive_transitions() {
    let s = summary("zeek/ssh/ssh.client-side-half-duplex.pcap");
    let syn_sent = s.time_in_state.client.iter().find(|t| t.state == State::SynSent).unwrap();
    assert_eq!(syn_sent.visits, 20);
    assert_eq!(syn_sent.p50, Duration(262_000));
    assert_eq!(syn_sent.max, Duration(214_737_000));
    assert_eq!(syn_sent.max_connection, 16);
    assert_eq!(syn_sent.open_at_end, 0);
    // CLOSED and LISTEN are not timed; FIN_WAIT_1 lasts until the capture ends.
    assert!(s.time_in_state.client.iter().all(|t| t.state != State::Closed && t.state != State::Listen));
    let fw1 = s.time_in_state.client.iter().find(|t| t.state == State::FinWait1).unwrap();
    assert_eq!(fw1.open_at_end, 20);
}

#[test]
fn nmap_probes_are_refused_or_reset_by_the_client() {
    let s = summary("rusticata-pcap-analyzer/nmap_tcp_22_ipv4.pcap");
    let got: Vec<(String, Vec<u64>)> =
        s.outcomes.iter().map(|g| (g.label.clone(), g.connections.ids.clone())).collect();
    assert_eq!(
        got,
        vec![("refused".to_string(), vec![1, 2, 3, 4, 5]), ("reset by client in ESTABLISHED".to_string(), vec![0, 6]),]
    );
    assert!(s.diagnoses.is_empty());
}

#[test]
fn fin_retransmitted_into_time_wait_is_a_lost_final_ack() {
    let s = summary("suricata-verify/bug-2646-01/input.pcap");
    let d = diagnosis(&s, DiagnosisKind::LostFinalAck);
    assert_eq!(d.connections, 1);
    assert_eq!(d.findings[0].endpoint, Some(Role::Client));
    assert_eq!(&d.findings[0].frames[..2], &frames(&[21, 22])[..]);
}

#[test]
fn server_that_never_answers_the_fin_is_close_wait_never_left() {
    let s = summary("suricata-verify/bug-814/input.pcap");
    let d = diagnosis(&s, DiagnosisKind::CloseWaitNeverLeft);
    assert_eq!(d.findings[0].connection, 0);
    assert_eq!(d.findings[0].endpoint, Some(Role::Server));
    assert_eq!(d.findings[0].frames, frames(&[6]));
    assert_eq!(d.findings[0].duration, Some(Duration(765_000)));
}

#[test]
fn rst_after_fin_names_the_fin_and_the_rst_frames() {
    let s = summary("zeek/ldap/modify-request.pcapng");
    let d = diagnosis(&s, DiagnosisKind::RstAfterFin);
    assert_eq!(d.findings[0].endpoint, Some(Role::Server));
    assert_eq!(d.findings[0].frames, frames(&[15, 17]));
}

#[test]
fn a_reply_to_a_client_that_closed_is_reset_for_data_after_close() {
    let (report, conns) = crate::support::run(&crate::support::repo("fixtures/write_after_close.pcap"));
    let s = summarize(&report, &conns, &SummaryOptions::default());
    let d = diagnosis(&s, DiagnosisKind::ResetForDataAfterClose);
    assert_eq!((d.findings[0].endpoint, d.findings[0].frames.clone()), (Some(Role::Client), frames(&[5, 9])));
    assert!(s.diagnoses.iter().all(|d| d.kind != DiagnosisKind::RstAfterFin), "explained once");
    let s = summary("zeek/tcp/qi_internet_SYNACK_curl_jsonip.pcap");
    let d = diagnosis(&s, DiagnosisKind::ResetForDataAfterClose);
    assert_eq!((d.findings[0].endpoint, d.findings[0].frames.clone()), (Some(Role::Client), frames(&[6, 10])));
}

#[test]
fn fast_port_reuse_within_time_wait_is_reported_per_old_connection() {
    // 2·MSL of 300 s keeps each connection's TIME_WAIT alive when the next SYN comes.
    let opts = Options { time_wait: Duration::from_secs_f64(300.0), ..Options::default() };
    let s = summary_with("tcptrace/fast_reuse.dmp.gz", &opts);
    let d = diagnosis(&s, DiagnosisKind::SynOnTimeWait);
    assert_eq!(d.connections, 17);
    let first = d.findings.iter().find(|f| f.connection == 1).unwrap();
    assert_eq!(first.endpoint, Some(Role::Client));
    assert_eq!(first.frames, frames(&[85]));
    // With Linux's 60 s the TIME_WAITs had expired: nothing to report.
    let s = summary("tcptrace/fast_reuse.dmp.gz");
    assert!(s.diagnoses.iter().all(|d| d.kind != DiagnosisKind::SynOnTimeWait));
}

#[test]
fn json_names_its_schema_and_gives_each_tools_ids() {
    let s = summary("zeek/http/get.pcap");
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["schema"], "tcpstate-summary/1");
    let c = &v["per_connection"][0];
    assert_eq!(c["tcp_stream"], 0);
    assert_eq!(c["zeek"][0]["conn_state"], "SF");
    assert_eq!(c["zeek"][0]["history"], "ShADadFf");
    assert_eq!(v["outcomes"][0]["outcome"]["kind"], "closed_by_client_first");
    assert_eq!(v["outcomes"][0]["ids"][0], 0);
}

#[test]
fn fin_wait_2_longer_than_the_threshold_is_reported_with_its_frame() {
    let path = public_traces().join("tcpdump/dns_tcp.pcap");
    let mut conns = Vec::new();
    let report = analyze(std::slice::from_ref(&path), &Options::default(), &mut conns).unwrap();
    let short = SummaryOptions { long_fin_wait_2: Duration(1_000_000), ..SummaryOptions::default() };
    let s = summarize(&report, &conns, &short);
    let d = diagnosis(&s, DiagnosisKind::LongFinWait2);
    assert_eq!(d.findings[0].connection, 0);
    assert_eq!(d.findings[0].endpoint, Some(Role::Client));
    assert_eq!(d.findings[0].frames, frames(&[9]));
    // The default 60 s (Linux's tcp_fin_timeout) finds nothing in this short capture.
    let s = summarize(&report, &conns, &SummaryOptions::default());
    assert!(s.diagnoses.iter().all(|d| d.kind != DiagnosisKind::LongFinWait2));
}

/// `tcpstate summary` folds connections in as the flow table delivers them, which is not id
/// order: the summary must not depend on the order. Checked on captures with many outcomes
/// and diagnoses, fed in id order, reversed, and straight from a sharded run.
#[test]
fn summary_is_the_same_whatever_order_connections_arrive_in() {
    let short = SummaryOptions { long_fin_wait_2: Duration(1_000_000), ..SummaryOptions::default() };
    for rel in ["tcptrace/fast_reuse.dmp.gz", "zeek/ldap/modify-request.pcapng", "tcpdump/dns_tcp.pcap"] {
        let path = public_traces().join(rel);
        let mut conns = Vec::new();
        let report = analyze(std::slice::from_ref(&path), &Options::default(), &mut conns).unwrap();
        conns.sort_by_key(|c| c.id);
        let in_order = serde_json::to_string(&summarize(&report, &conns, &short)).unwrap();
        conns.reverse();
        let reversed = serde_json::to_string(&summarize(&report, &conns, &short)).unwrap();
        let mut builder = SummaryBuilder::new(short.clone());
        let sharded = Options { threads: 3, ..Options::default() };
        let report = analyze(std::slice::from_ref(&path), &sharded, &mut builder).unwrap();
        let streamed = serde_json::to_string(&builder.finish(&report)).unwrap();
        assert!(in_order.contains("\"findings\""), "{rel}: nothing diagnosed, nothing checked");
        assert_eq!(in_order, reversed, "{rel}");
        assert_eq!(in_order, streamed, "{rel}");
    }
}

/// A sharded run folds each shard's connections, numbered by the shard, and adds the folds
/// up renumbered: here the odd connections are folded apart as 0, 1, 2, … and absorbed as
/// 2n + 1, which must give the summary of all of them folded together.
#[test]
fn absorbing_a_renumbered_share_gives_the_summary_of_all() {
    let short = SummaryOptions { long_fin_wait_2: Duration(1_000_000), ..SummaryOptions::default() };
    for rel in ["tcptrace/fast_reuse.dmp.gz", "rusticata-pcap-analyzer/nmap_tcp_22_ipv4.pcap"] {
        let path = public_traces().join(rel);
        let mut conns = Vec::new();
        let report = analyze(std::slice::from_ref(&path), &Options::default(), &mut conns).unwrap();
        let whole = serde_json::to_string(&summarize(&report, &conns, &short)).unwrap();
        let (mut even, mut odd) = (SummaryBuilder::new(short.clone()), SummaryBuilder::new(short.clone()));
        for mut c in conns.iter().cloned() {
            if c.id % 2 == 0 {
                even.add(&c);
            } else {
                c.id /= 2;
                odd.add(&c);
            }
        }
        assert!(conns.iter().filter(|c| c.id % 2 == 1).count() > 2, "{rel}: too few odd connections");
        even.absorb(odd, |n| 2 * n + 1);
        let absorbed = serde_json::to_string(&even.finish(&report)).unwrap();
        assert_eq!(whole, absorbed, "{rel}");
    }
}

#[test]
fn a_summary_without_connection_lines_differs_only_by_them() {
    let path = public_traces().join("tcptrace/fast_reuse.dmp.gz");
    let build = |per_connection| {
        let mut builder = SummaryBuilder::new(SummaryOptions { per_connection, ..SummaryOptions::default() });
        let report = analyze(std::slice::from_ref(&path), &Options::default(), &mut builder).unwrap();
        builder.finish(&report)
    };
    let (mut full, lean) = (build(true), build(false));
    assert_eq!(full.per_connection.len(), full.connections);
    assert!(full.connections > 0);
    assert!(lean.per_connection.is_empty());
    assert_eq!(lean.connections, full.connections);
    full.per_connection.clear();
    assert_eq!(serde_json::to_string(&full).unwrap(), serde_json::to_string(&lean).unwrap());
}

#[test]
fn syn_ack_never_acknowledged_leaves_a_half_open_server() {
    let s = summary("zeek/tcp/syn-synack.pcap");
    assert_eq!(s.outcomes[0].outcome, Ending::HandshakeIncomplete);
    let d = diagnosis(&s, DiagnosisKind::HalfOpen);
    assert_eq!(d.findings[0].endpoint, Some(Role::Server));
    assert_eq!(d.findings[0].frames, frames(&[2]));
}

/// Runs the real binary.
fn tcpstate(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tcpstate")).args(args).output().unwrap()
}

#[test]
fn cli_summary_and_timeline_write_what_they_promise() {
    let cap = public_traces().join("suricata-verify/bug-814/input.pcap");
    let cap = cap.to_str().unwrap();
    let out = tcpstate(&["summary", cap]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("CLOSE_WAIT never left — 1 connection"), "{text}");
    assert!(out.stderr.is_empty(), "no progress bar when stderr is not a terminal");

    let out = tcpstate(&["summary", "--json", cap]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["per_connection"][0]["zeek"][0]["conn_state"], "S2");

    let dir = std::env::temp_dir().join(format!("tcpstate-summary-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["t.svg", "t.png"] {
        let file = dir.join(name);
        let out = tcpstate(&["timeline", cap, "-o", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(std::fs::metadata(&file).unwrap().len() > 1000);
    }
    let bad = dir.join("t.jpg");
    let out = tcpstate(&["timeline", cap, "-o", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must end in .svg or .png"));
    let out = tcpstate(&["timeline", cap, "--conn", "5", "-o", dir.join("x.svg").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connection 5"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn headlines_count_frames_and_connections_in_the_right_number() {
    let first_line = |args: &[&str]| {
        let out = tcpstate(args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap().lines().next().unwrap_or_default().to_string()
    };
    let one = crate::support::repo("fixtures/refused.pcap");
    let many = crate::support::repo("fixtures/many_interleaved.pcap");
    let (one, many) = (one.to_str().unwrap(), many.to_str().unwrap());
    for command in ["analyze", "summary"] {
        assert!(first_line(&[command, one]).contains(": 2 frames (2 TCP), 1 connection, "), "{command}");
        assert!(first_line(&[command, many]).contains(": 243 frames (243 TCP), 24 connections, "), "{command}");
    }
}
