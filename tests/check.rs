//! `tcpstate check` end to end, and byte-stable output.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::repo;

fn tcpstate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpstate")).args(args).output().expect("run tcpstate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstate-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_crafted_fixture_passes_its_committed_expectation() {
    let o = tcpstate(&["check", repo("fixtures/crafted").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).ends_with("4 passed, 0 failed\n"), "{}", stdout(&o));
}

#[test]
fn every_fixture_passes_its_committed_expectation() {
    let o = tcpstate(&["check", repo("fixtures").to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let captures = std::fs::read_dir(repo("fixtures"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pcap"));
    let n = captures.count();
    assert!(out.ends_with(&format!("{n} passed, 0 failed\n")), "{out}");
}

#[test]
fn a_changed_timeline_fails_with_the_first_difference() {
    let dir = scratch("mismatch");
    let cap = dir.join("c.pcap");
    std::fs::copy(repo("fixtures/client_close.pcap"), &cap).unwrap();
    let good = std::fs::read_to_string(repo("fixtures/client_close.pcap.expect.json")).unwrap();
    let bad = good
        .replace("\"LAST_ACK @10 sent FIN,ACK\"", "\"LAST_ACK @11 sent FIN,ACK\"")
        .replace("\"TIME_WAIT @10 received FIN,ACK\"", "\"TIME_WAIT @9 received FIN,ACK\"");
    assert_ne!(good, bad);
    std::fs::write(dir.join("c.pcap.expect.json"), bad).unwrap();
    let o = tcpstate(&["check", cap.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("connection 0, client transition 5: expected `TIME_WAIT @9 received FIN,ACK`, got `TIME_WAIT @10 received FIN,ACK`"),
        "{out}"
    );
    assert!(out.contains("… and 1 more difference(s)"), "{out}");

    let o = tcpstate(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).ends_with("0 passed, 1 failed\n"), "{}", stdout(&o));
}

#[test]
fn a_missing_expectation_fails_and_bless_writes_one_that_passes() {
    let dir = scratch("bless");
    let cap = dir.join("x.pcap");
    std::fs::copy(repo("fixtures/refused.pcap"), &cap).unwrap();
    let o = tcpstate(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no expectation"), "{}", stdout(&o));
    let o = tcpstate(&["check", dir.to_str().unwrap(), "--bless"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("x.pcap.expect.json")).unwrap(),
        std::fs::read_to_string(repo("fixtures/refused.pcap.expect.json")).unwrap()
    );
    let o = tcpstate(&["check", cap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn timestamps_are_checked_only_when_asked_and_within_tolerance() {
    let dir = scratch("ts");
    let cap = dir.join("t.pcap");
    std::fs::copy(repo("fixtures/client_close.pcap"), &cap).unwrap();
    assert_eq!(
        tcpstate(&["check", cap.to_str().unwrap(), "--bless", "--timestamps", "0.000001"]).status.code(),
        Some(0)
    );
    let exp = dir.join("t.pcap.expect.json");
    let text = std::fs::read_to_string(&exp).unwrap();
    assert!(text.contains("\"tolerance\": 1e-6") || text.contains("\"tolerance\": 0.000001"), "{text}");
    let line = text.lines().find(|l| l.contains("SYN_SENT @1 sent SYN t=")).expect("timestamped line").to_string();
    let (head, ts) = line.trim().trim_end_matches(',').trim_matches('"').rsplit_once(" t=").unwrap();
    let (secs, frac) = ts.split_once('.').unwrap();
    let moved = format!("{head} t={}.{:09}", secs, frac.parse::<u64>().unwrap() + 500);
    std::fs::write(&exp, text.replace(line.trim().trim_end_matches(',').trim_matches('"'), &moved)).unwrap();
    assert_eq!(tcpstate(&["check", cap.to_str().unwrap()]).status.code(), Some(0), "500 ns is within 1 µs");
    let far = format!("{head} t={}.{:09}", secs, frac.parse::<u64>().unwrap() + 5_000);
    std::fs::write(&exp, std::fs::read_to_string(&exp).unwrap().replace(&moved, &far)).unwrap();
    assert_eq!(tcpstate(&["check", cap.to_str().unwrap()]).status.code(), Some(1), "5 µs is not");
}

#[test]
fn json_and_text_output_are_byte_identical_across_runs() {
    for args in [
        vec!["analyze", "--json"],
        vec!["analyze"],
        vec!["analyze", "--jsonl"],
        vec!["analyze", "--conn", "3", "--names", "linux"],
    ] {
        let mut a = args.clone();
        let cap = repo("fixtures/many_interleaved.pcap");
        a.push(cap.to_str().unwrap());
        let (x, y) = (tcpstate(&a), tcpstate(&a));
        assert_eq!(x.status.code(), Some(0));
        assert!(!x.stdout.is_empty());
        assert_eq!(x.stdout, y.stdout, "{args:?}");
    }
}

#[test]
fn the_same_packets_as_pcap_and_pcapng_give_the_same_connections() {
    let conns = |p: &Path| {
        let o = tcpstate(&["analyze", "--json", p.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["connections"].clone()
    };
    let a = conns(&repo("fixtures/many_interleaved.pcap"));
    let b = conns(&repo("fixtures/pcapng/many_interleaved.pcapng"));
    assert_eq!(a.as_array().map(Vec::len), Some(24));
    assert_eq!(a, b);
}

#[test]
fn two_threads_give_exactly_the_single_threaded_output() {
    let mut captures = vec![repo("fixtures/many_interleaved.pcap"), repo("fixtures/port_reuse.pcap")];
    captures.push(crate::support::public_traces().join("tcptrace/fast_reuse.dmp.gz"));
    captures.push(crate::support::public_traces().join("zeek/ssh/ssh.client-side-half-duplex.pcap"));
    for cap in captures {
        for mode in ["--json", "--jsonl"] {
            let run = |threads: &str| tcpstate(&["analyze", mode, "--threads", threads, cap.to_str().unwrap()]).stdout;
            let one = run("1");
            assert!(one.len() > 100, "{}", cap.display());
            assert_eq!(one, run("2"), "{} {mode}", cap.display());
        }
    }
}

/// README.md documents the JSON format with the real output for fixtures/refused.pcap: keep it
/// true.
#[test]
fn the_readme_json_example_is_what_analyze_prints() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let start = readme.find("```json\n{\n  \"schema\": \"tcpstate/1\"").expect("the example") + "```json\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let documented: serde_json::Value = serde_json::from_str(&readme[start..end]).expect("valid JSON in README");
    let o = tcpstate(&["analyze", "--json", "fixtures/refused.pcap"]);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(documented, printed);
}
