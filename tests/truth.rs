//! Every recorded fixture against the Linux kernel's own state transitions (fixtures/*.truth.json,
//! recorded by scripts/record-fixtures.sh from the `sock/inet_sock_set_state` tracepoint and
//! socket-table polling). Both endpoints' full state sequences must match, and every transition
//! we place on a frame must lie where the kernel made it, within what the capture point allows.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tcpstate::tcp::state::State;
use tcpstate::timeline::{Cause, Connection, EndpointTimeline, Role};

use crate::support::{repo, run};

/// Endpoints whose kernel transitions no capture can show, with the reason. Each must still
/// differ: if we ever match one, the entry has to go.
const INVISIBLE: &[(&str, u64, Role, &str)] = &[(
    "syn_unanswered",
    0,
    Role::Client,
    "the client gives up (TCP_USER_TIMEOUT) without sending anything: SYN_SENT → CLOSED leaves no trace on the wire",
)];

/// How far a kernel event may lie from the timestamp of the frame we attribute it to.
/// The endpoint on the capture side sees the segment within microseconds (the recorder measured
/// 30–130 µs); the far endpoint one forwarder delay away, give or take the forwarder's jitter.
const NEAR_SLACK_S: f64 = 0.003;
const FAR_JITTER_S: f64 = 0.006;
/// Socket-table polling sees a timewait mini-socket's state up to this late.
const POLL_LAG_S: f64 = 0.010;

/// Transitions whose moment one capture point cannot pin down, with the reason.
const AMBIGUOUS: &[(&str, Role, State, &str)] = &[
    (
        "fin_lost",
        Role::Server,
        State::CloseWait,
        "client-side capture shows a FIN and its retransmission with no ACK between: the FIN or the ACK was lost \
         after the capture point; we place CLOSE_WAIT at the first FIN, the kernel got only the second",
    ),
    (
        "fin_lost.server-side",
        Role::Client,
        State::FinWait1,
        "the original FIN was lost before the server-side capture point: only its retransmission shows",
    ),
];

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo("fixtures"))
        .expect("fixtures/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .filter(|p| truth_path(p).exists())
        .collect();
    out.sort();
    out
}

fn truth_path(pcap: &Path) -> PathBuf {
    pcap.with_extension("truth.json")
}

/// Our sequence as the kernel could record it: consecutive repeats dropped, and no 2MSL expiry
/// (the recorder never waits 60 s for it).
fn our_states(ep: &EndpointTimeline) -> Vec<State> {
    let mut states: Vec<State> = Vec::new();
    for t in &ep.timeline {
        if t.cause == Cause::TimeWaitExpired {
            continue;
        }
        if states.last() != Some(&t.state) {
            states.push(t.state);
        }
    }
    states
}

fn truth_states(conn: &Value, role: Role) -> Vec<State> {
    conn[format!("{role}_states")]
        .as_array()
        .expect("states array")
        .iter()
        .map(|s| State::parse(s.as_str().expect("state string")).expect("known state"))
        .collect()
}

fn find<'a>(conns: &'a [Connection], truth: &Value, nth: usize) -> Option<&'a Connection> {
    let (client, server) = (truth["client"].as_str()?, truth["server"].as_str()?);
    conns.iter().filter(|c| c.client.to_string() == client && c.server.to_string() == server).nth(nth)
}

#[test]
fn there_are_kernel_fixtures() {
    assert!(fixtures().len() >= 15, "expected the recorded fixtures, found {}", fixtures().len());
}

#[test]
fn both_endpoints_follow_the_kernel_state_sequence_on_every_fixture() {
    let mut failures = Vec::new();
    let (mut matched, mut total) = (0, 0);
    for pcap in fixtures() {
        let name = pcap.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let scenario = name.trim_end_matches(".server-side");
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(truth_path(&pcap)).unwrap()).unwrap();
        let (_, conns) = run(&pcap);
        let truth_conns = truth["connections"].as_array().unwrap();
        assert_eq!(conns.len(), truth_conns.len(), "{name}: connection count");
        for (i, tc) in truth_conns.iter().enumerate() {
            let nth =
                truth_conns[..i].iter().filter(|o| o["client"] == tc["client"] && o["server"] == tc["server"]).count();
            let Some(c) = find(&conns, tc, nth) else {
                failures.push(format!("{name}: no connection {} → {}", tc["client"], tc["server"]));
                continue;
            };
            for role in [Role::Client, Role::Server] {
                total += 1;
                let want = truth_states(tc, role);
                let got = our_states(c.endpoints.get(role));
                let invisible = INVISIBLE.iter().any(|(s, id, r, _)| *s == scenario && *id == c.id && *r == role);
                match (want == got, invisible) {
                    (true, false) => matched += 1,
                    (false, true) => {}
                    (true, true) => {
                        failures.push(format!("{name} #{} {role}: now matches; remove it from INVISIBLE", c.id))
                    }
                    (false, false) => failures.push(format!("{name} #{} {role}: kernel {want:?}, got {got:?}", c.id)),
                }
            }
        }
    }
    eprintln!("kernel truth: {matched}/{total} endpoints match");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The kernel's events for one endpoint as (RFC state entered, when, extra slack). `→CLOSE`
/// out of FIN_WAIT2 or CLOSING is the socket turning into a timewait mini-socket: TIME_WAIT,
/// unless polling saw the mini-socket in FIN_WAIT_2 first (an orphan still waiting for the
/// peer's FIN), whose TIME_WAIT only polling shows.
fn kernel_events(events: &[Value]) -> Vec<(State, f64, f64)> {
    let orphan = events.iter().any(|e| e["source"] == "ss" && e["to"] == "FIN_WAIT2");
    events
        .iter()
        .filter_map(|e| {
            let to = State::parse(e["to"].as_str()?)?;
            let from = State::parse(e["from"].as_str()?)?;
            let ts = e["ts"].as_f64()?;
            match (e["source"].as_str()?, from, to) {
                ("ss", _, State::TimeWait) if orphan => {
                    Some((State::TimeWait, ts - POLL_LAG_S / 2.0, POLL_LAG_S / 2.0))
                }
                ("ss", _, _) => None,
                (_, State::FinWait2 | State::Closing, State::Closed) if !orphan => Some((State::TimeWait, ts, 0.0)),
                (_, State::FinWait2, State::Closed) => None,
                _ => Some((to, ts, 0.0)),
            }
        })
        .collect()
}

#[test]
fn transitions_sit_on_the_frames_where_the_kernel_made_them() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for pcap in fixtures() {
        let name = pcap.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(truth_path(&pcap)).unwrap()).unwrap();
        let near = if truth["vantage"] == "server" { Role::Server } else { Role::Client };
        let delay = truth["one_way_delay_ms"].as_f64().unwrap_or(0.0) / 1000.0;
        let (_, conns) = run(&pcap);
        let truth_conns = truth["connections"].as_array().unwrap();
        for (i, tc) in truth_conns.iter().enumerate() {
            let nth =
                truth_conns[..i].iter().filter(|o| o["client"] == tc["client"] && o["server"] == tc["server"]).count();
            let Some(c) = find(&conns, tc, nth) else { continue };
            for role in [Role::Client, Role::Server] {
                let slack = if role == near { NEAR_SLACK_S } else { delay + NEAR_SLACK_S + FAR_JITTER_S };
                let events = kernel_events(tc[format!("{role}_events")].as_array().unwrap());
                let mut cursor = 0;
                for t in c.endpoints.get(role).timeline.iter().skip(1) {
                    // The kernel does not trace the request phase: a server's SYN_RCVD shows
                    // only at the final ACK, one round trip after the SYN,ACK that shows it here.
                    if t.inferred || t.frame.is_none() || (role == Role::Server && t.state == State::SynRcvd) {
                        continue;
                    }
                    let Some(k) = events[cursor..].iter().position(|(s, _, _)| *s == t.state) else { continue };
                    let (_, kts, extra) = events[cursor + k];
                    cursor += k + 1;
                    if AMBIGUOUS.iter().any(|(n, r, s, _)| *n == name && *r == role && *s == t.state) {
                        continue;
                    }
                    checked += 1;
                    let ours = t.ts.as_secs_f64();
                    if (ours - kts).abs() > slack + extra {
                        failures.push(format!(
                            "{name} #{} {role} {}: frame {} at {ours:.6}, kernel at {kts:.6} (slack {slack:.3} s)",
                            c.id,
                            t.state,
                            t.frame.map_or(0, |f| f.0)
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} transitions checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The committed expectations (fixtures/*.expect.json, what `tcpstate check` enforces) were
/// blessed from our output; this keeps them honest: their state sequences are the kernel's.
#[test]
fn committed_expectations_agree_with_the_kernel() {
    let mut failures = Vec::new();
    for pcap in fixtures() {
        let name = pcap.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let scenario = name.trim_end_matches(".server-side");
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(truth_path(&pcap)).unwrap()).unwrap();
        let exp_path = PathBuf::from(format!("{}.expect.json", pcap.display()));
        let exp: tcpstate::check::Expectation = serde_json::from_str(
            &std::fs::read_to_string(&exp_path).unwrap_or_else(|e| panic!("{}: {e}", exp_path.display())),
        )
        .unwrap();
        let truth_conns = truth["connections"].as_array().unwrap();
        for (i, tc) in truth_conns.iter().enumerate() {
            let nth =
                truth_conns[..i].iter().filter(|o| o["client"] == tc["client"] && o["server"] == tc["server"]).count();
            let Some(ec) =
                exp.connections.iter().filter(|e| e.client == tc["client"] && e.server == tc["server"]).nth(nth)
            else {
                failures.push(format!("{name}: expectation lacks {} → {}", tc["client"], tc["server"]));
                continue;
            };
            for (role, lines) in [(Role::Client, &ec.client_timeline), (Role::Server, &ec.server_timeline)] {
                let mut got: Vec<State> = Vec::new();
                for l in lines.iter().filter(|l| !l.contains("2MSL")) {
                    let st = State::parse(l.split_whitespace().next().unwrap()).unwrap();
                    if got.last() != Some(&st) {
                        got.push(st);
                    }
                }
                let invisible = INVISIBLE.iter().any(|(s, id, r, _)| *s == scenario && *id == ec.id && *r == role);
                if got != truth_states(tc, role) && !invisible {
                    failures.push(format!(
                        "{name} #{} {role}: expectation {got:?}, kernel {:?}",
                        ec.id,
                        truth_states(tc, role)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
