//! The HTML report: what the page holds, that it is deterministic and escapes what the capture
//! names, and — in headless Chromium — that it loads without console errors, lists every
//! connection and sorts and filters them.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tcpstate::output::html::{self, HtmlOptions};
use tcpstate::summary::{summarize, SummaryOptions};
use tcpstate::timeline::Connection;

use crate::support::{public_traces, repo, run};

fn tcpstate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpstate")).args(args).output().expect("run tcpstate")
}

/// The page for one capture through the library, with `max` details.
fn page(path: &Path, max: usize) -> (String, Vec<Connection>, BTreeSet<u64>) {
    let (report, conns) = run(path);
    let summary = summarize(&report, &conns, &SummaryOptions::default());
    let details = html::detail_ids(&summary, max);
    let page = html::render(&report, &conns, &summary, &details, &HtmlOptions::default()).unwrap();
    (page, conns, details)
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// Writes the report of `captures` with the binary and returns it.
#[track_caller]
fn report_file(captures: &[&Path], out: &Path) -> String {
    let mut args: Vec<&str> = vec!["report"];
    args.extend(captures.iter().map(|p| p.to_str().unwrap()));
    args.extend(["-o", out.to_str().unwrap()]);
    let o = tcpstate(&args);
    assert!(o.status.success(), "tcpstate report failed: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn report_lists_every_connection_and_draws_each_one() {
    let (page, conns, details) = page(&repo("fixtures/many_interleaved.pcap"), 100);
    assert_eq!(conns.len(), 24);
    assert_eq!(details.len(), 24);
    assert_eq!(count(&page, "<tr data-id=\""), 24);
    for c in &conns {
        assert!(page.contains(&format!("<article class=\"detail\" id=\"conn-{}\">", c.id)), "no details of {}", c.id);
    }
    assert!(page.contains("Every connection has its diagrams here."));
    // Three drawings per connection, plus the overview chart and state diagram, all inline.
    assert_eq!(count(&page, "<svg "), 3 * 24 + 2);
    assert!(!page.contains("<?xml"));
    assert_eq!(count(&page, "<script"), 1);
    assert!(!page.contains(" src="), "the page loads nothing");
    let csp = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", html::content_security_policy());
    assert!(page.contains(&csp));
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'sha256-"));
    // Connection 5's row: client closed second, so it ends CLOSED; the server is in TIME_WAIT.
    let row = page.lines().find(|l| l.starts_with("<tr data-id=\"5\"")).unwrap();
    assert!(row.contains("<td>closed by server first</td><td>CLOSED</td><td>TIME_WAIT</td>"), "{row}");
    assert!(row.contains("<a href=\"#conn-5\">5</a>"));
}

#[test]
fn details_go_to_diagnosed_connections_first_and_the_page_says_so() {
    // One diagnosis, a SYN retransmission (16), then the lowest ids.
    let path = public_traces().join("zeek/ssh/ssh.client-side-half-duplex.pcap");
    let (page, conns, details) = page(&path, 3);
    assert_eq!(conns.len(), 20);
    assert_eq!(details.len(), 3);
    assert!(details.contains(&0) && details.contains(&16), "{details:?}");
    assert_eq!(count(&page, "<tr data-id=\""), 20);
    assert_eq!(count(&page, "<article class=\"detail\""), 3);
    assert_eq!(count(&page, "<tr data-id=\"") - count(&page, "class=\"detailed\""), 17);
    assert!(page.contains("Diagrams are embedded for 3 of 20 connections"), "the page says what it left out");
    assert!(page.contains("SYN retransmissions — 1 connection"));
    assert!(!page.contains("CLOSE_WAIT never left"), "a one-sided capture cannot show a server stuck");
}

#[test]
fn the_same_capture_gives_a_byte_identical_report() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo("fixtures/many_interleaved.pcap");
    let a = report_file(&[&fixture], &dir.path().join("a.html"));
    let b = report_file(&[&fixture], &dir.path().join("b.html"));
    assert!(a == b, "two runs differ");
    // The binary reads the file twice (segments only for the drawn connections): same page
    // as the library with every segment logged.
    let (lib, _, _) = page(&fixture, html::DEFAULT_MAX_DETAILS);
    assert!(a == lib, "the binary's page differs from the library's");
    // Standard output too.
    let o = tcpstate(&["report", fixture.to_str().unwrap(), "-o", "-"]);
    assert!(o.status.success());
    assert!(o.stdout == a.as_bytes());
}

#[test]
fn standard_input_is_read_once_with_every_segment() {
    use std::io::Write;
    let fixture = repo("fixtures/many_interleaved.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpstate"))
        .args(["report", "-", "-o", "-", "--max-details", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&fixture).unwrap()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let page = String::from_utf8(o.stdout).unwrap();
    assert_eq!(count(&page, "<tr data-id=\""), 24);
    assert_eq!(count(&page, "<article class=\"detail\""), 5);
    // Every drawn connection has its sequence diagram, not a "segments not recorded" note.
    assert_eq!(count(&page, "<svg "), 3 * 5 + 2);
    assert!(page.contains("Diagrams are embedded for 5 of 24 connections, to keep this file small: the lowest ids"));
}

#[test]
fn a_capture_without_tcp_still_gives_a_page() {
    let path = public_traces().join("rusticata-pcap-parser/test001-be.pcapng");
    let (page, conns, details) = page(&path, 100);
    assert!(conns.is_empty() && details.is_empty());
    assert_eq!(count(&page, "<tr data-id=\""), 0);
    assert!(page.contains("No TCP connection in the capture."));
    assert!(page.contains("No connection to draw."));
    assert!(page.ends_with("</html>\n"));
}

/// A capture whose path is markup: a directory `<script>alert(1)<` holding `script>.pcap`
/// makes the path end in `<script>alert(1)</script>.pcap`; a second file carries an `<img>`
/// with an event handler, and is cut short so that a warning names it.
fn hostile_captures(dir: &Path) -> Vec<PathBuf> {
    let fixture = std::fs::read(repo("fixtures/many_interleaved.pcap")).unwrap();
    let script_dir = dir.join("<script>alert(1)<");
    std::fs::create_dir(&script_dir).unwrap();
    let a = script_dir.join("script>.pcap");
    std::fs::write(&a, &fixture).unwrap();
    let b = dir.join("\"><img src=x onerror=alert(2)>.pcap");
    std::fs::write(&b, &fixture[..fixture.len() - 7]).unwrap();
    vec![a, b]
}

#[test]
fn names_from_the_capture_cannot_inject_markup() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_captures(dir.path());
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let page = report_file(&refs, &dir.path().join("report.html"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.pcap"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;.pcap"));
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img"));
    assert!(!page.contains("onerror=alert(2)>"));
    assert_eq!(count(&page, "<script"), 1);
    // The cut file's warning names it, escaped like everything else.
    let warnings = page.split("<div class=\"warnings\">").nth(1).expect("a warning about the cut file");
    assert!(warnings.contains("&lt;img src=x"), "{}", &warnings[..warnings.len().min(400)]);
}

// ---- In the browser ----

const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium, or `None` (with a message) when it is not installed and this is not CI, where
/// `.ci/run` installs it and its absence is a failure.
fn chromium() -> Option<&'static Path> {
    let path = Path::new(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{CHROMIUM} is missing: .ci/run installs Debian's chromium package for the browser tests");
    }
    eprintln!("SKIPPED: the report's browser tests need {CHROMIUM} (apt-get install chromium)");
    None
}

/// Runs headless Chromium with a fresh profile on `extra` arguments; returns standard output
/// and standard error. Killed after two minutes.
fn headless(chromium: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// The page's console messages (Chromium logs them to standard error as `…:CONSOLE:…`).
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Loads `page` with `#selftest`, which sorts and filters the table and writes what it saw
/// (and every script error or policy violation) into `#selftest-result`.
fn selftest(chromium: &Path, page: &Path) -> serde_json::Value {
    let url = format!("file://{}#selftest", page.display());
    let (dom, stderr) = headless(chromium, &["--virtual-time-budget=3000", "--dump-dom", &url]);
    assert_eq!(console(&stderr), Vec::<&str>::new(), "console messages");
    let start = r#"<pre id="selftest-result">"#;
    let text = dom
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .unwrap_or_else(|| panic!("no self-test result in the DOM:\n{}", &dom[..dom.len().min(2000)]))
        .0;
    let json = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("self-test result {json:?}: {e}"))
}

fn ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

#[test]
fn in_chromium_the_table_sorts_and_filters_without_errors() {
    let Some(chromium) = chromium() else { return };
    let fixture = repo("fixtures/many_interleaved.pcap");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    report_file(&[&fixture], &out);
    let (_, conns) = run(&fixture);
    let r = selftest(chromium, &out);
    assert_eq!(r["errors"], serde_json::json!([]), "script errors or blocked loads");
    assert_eq!(r["scripts"], 1);
    assert_eq!(r["rows"], conns.len() as u64);
    assert_eq!(r["shown"], 24);
    let mut by_duration: Vec<&Connection> = conns.iter().collect();
    by_duration.sort_by_key(|c| (c.duration, c.id));
    let ascending: Vec<u64> = by_duration.iter().map(|c| c.id).collect();
    assert_eq!(ids(&r["duration_ascending"]), ascending);
    by_duration.sort_by_key(|c| (std::cmp::Reverse(c.duration), c.id));
    let descending: Vec<u64> = by_duration.iter().map(|c| c.id).collect();
    assert_eq!(ids(&r["duration_descending"]), descending);
    assert_ne!(ascending, (0..24).collect::<Vec<u64>>(), "durations must not already be in id order");
    assert_eq!(ids(&r["id_ascending"]), (0..24).collect::<Vec<u64>>());
    // By client address, descending: one host, so by port (numbers compared as numbers).
    let mut by_client: Vec<&Connection> = conns.iter().collect();
    by_client.sort_by_key(|c| (std::cmp::Reverse((c.client.ip(), c.client.port())), c.id));
    let by_client: Vec<u64> = by_client.iter().map(|c| c.id).collect();
    assert_eq!(ids(&r["client_descending"]), by_client);
    assert_eq!(by_client.first(), Some(&23));
    let resets = conns.iter().filter(|c| c.ending.to_string().starts_with("reset")).count();
    assert_eq!(resets, 7);
    assert_eq!(r["filter_reset"], resets as u64);
    assert_eq!(r["filter_diagnosed"], 0);

    // A screenshot of the page, and one of a connection's details opened over it.
    for (name, fragment) in [("report.png", ""), ("report-conn-5.png", "#conn-5")] {
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_file(&shot);
        let url = format!("file://{}{fragment}", out.display());
        let (_, stderr) =
            headless(chromium, &[&format!("--screenshot={}", shot.display()), "--window-size=1400,2000", &url]);
        assert_eq!(console(&stderr), Vec::<&str>::new(), "console messages");
        let png = std::fs::read(&shot).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000, "{name}: {} bytes", png.len());
        eprintln!("screenshot: {}", shot.display());
    }
}

#[test]
fn in_chromium_a_hostile_capture_name_runs_nothing() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_captures(dir.path());
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let out = dir.path().join("report.html");
    report_file(&refs, &out);
    let mut conns: Vec<Connection> = Vec::new();
    tcpstate::analyze(&inputs, &tcpstate::Options::default(), &mut conns).unwrap();
    let r = selftest(chromium, &out);
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["scripts"], 1);
    assert_eq!(r["rows"], conns.len() as u64);
}
