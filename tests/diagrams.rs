//! Golden SVG diagrams of the public traces: byte-identical output, valid XML, every text box
//! inside the canvas and none overlapping another, and a PNG rendering with the bundled font
//! (written under target/diagrams/ for review).
//!
//! A missing or different golden fails; `TCPSTATE_BLESS=1 cargo test` rewrites them, to be
//! looked at before committing.

use std::path::{Path, PathBuf};

use tcpstate::output::seqdiag::{self, Lang, Phase, Scale, SeqOptions};
use tcpstate::output::svg::Scene;
use tcpstate::tcp::state::Names;

use crate::support::{public_traces, run};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `svg` with `tests/golden/<name>.svg` (or rewrites it when blessing), then
/// renders it to `target/diagrams/<name>.png`.
#[track_caller]
fn check_golden(name: &str, svg: &str) {
    let path = golden_dir().join(format!("{name}.svg"));
    if std::env::var_os("TCPSTATE_BLESS").is_some() {
        std::fs::write(&path, svg).unwrap();
    } else {
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run with TCPSTATE_BLESS=1 to create it, then look at it", path.display())
        });
        assert!(
            want == svg,
            "{} differs from the output; run with TCPSTATE_BLESS=1 if the change is intended",
            path.display()
        );
    }
    check_xml(svg);
    // Every label found a place (the time scale may honestly leave some out).
    if !name.ends_with("-time") {
        assert!(!svg.contains("left out") && !svg.contains("Labels omitted"), "{name}: a label was left out");
    }
    render_png(name, svg);
}

/// Parses as XML; every text is a `<text>` element with content.
#[track_caller]
fn check_xml(svg: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let texts = root.descendants().filter(|n| n.has_tag_name("text")).count();
    assert!(texts > 5, "only {texts} text elements");
    // Self-contained: no external references.
    assert!(!svg.contains("href"), "external reference");
}

/// No two text boxes overlap (rotated boxes compared exactly), every one is inside the canvas.
#[track_caller]
pub fn check_scene(scene: &Scene) {
    let texts: Vec<_> = scene.texts().map(|(c, t)| (c, t, t.quad())).collect();
    for (c, t, q) in &texts {
        assert!(
            q.inside(0.0, 0.0, scene.width, scene.height),
            "{c} text {:?} outside the {}×{} canvas: {q:?}",
            t.content,
            scene.width,
            scene.height
        );
    }
    for (i, (c1, t1, q1)) in texts.iter().enumerate() {
        for (c2, t2, q2) in &texts[i + 1..] {
            assert!(!q1.overlaps(q2), "{c1} text {:?} overlaps {c2} text {:?}", t1.content, t2.content);
        }
    }
}

fn fonts() -> resvg::usvg::fontdb::Database {
    let mut db = resvg::usvg::fontdb::Database::new();
    db.load_font_data(
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts/DejaVuSans.ttf")).unwrap(),
    );
    // Chinese labels need a CJK face; the Debian package fonts-noto-cjk provides one. Without
    // it the PNG shows boxes for ideographs, which the structural checks do not depend on.
    for p in ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"] {
        if let Ok(data) = std::fs::read(p) {
            db.load_font_data(data);
        }
    }
    db
}

/// Renders with resvg and checks the picture: its size, something drawn, and a clean border
/// (nothing clipped at the canvas edge).
#[track_caller]
fn render_png(name: &str, svg: &str) {
    let mut opt = resvg::usvg::Options { font_family: "DejaVu Sans".into(), ..Default::default() };
    *opt.fontdb_mut() = fonts();
    let tree = resvg::usvg::Tree::from_str(svg, &opt).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let (w, h) = (pixmap.width(), pixmap.height());
    let px = |x: u32, y: u32| pixmap.pixel(x, y).unwrap();
    let white = px(0, 0);
    let mut border_clean = true;
    for x in 0..w {
        for y in [0, 1, h - 2, h - 1] {
            border_clean &= px(x, y) == white;
        }
    }
    for y in 0..h {
        for x in [0, 1, w - 2, w - 1] {
            border_clean &= px(x, y) == white;
        }
    }
    assert!(border_clean, "{name}: something is drawn at the canvas edge (clipped?)");
    let inked = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| px(x, y) != white).count();
    assert!(inked > 1000, "{name}: almost nothing drawn ({inked} pixels)");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/diagrams");
    std::fs::create_dir_all(&out).unwrap();
    pixmap.save_png(out.join(format!("{name}.png"))).unwrap();
}

fn seq(trace: &str, conn: usize, opts: &SeqOptions) -> (Scene, String) {
    let (_, conns) = run(&public_traces().join(trace));
    let c = &conns[conn];
    let scene = seqdiag::layout::layout(c, opts).unwrap();
    let svg = seqdiag::render(c, opts).unwrap();
    (scene, svg)
}

/// The kernel-recorded fixtures, each with a golden sequence diagram of its first connection
/// (whole exchange, so lost and retransmitted segments all show).
#[test]
fn sequence_diagrams_of_the_kernel_fixtures() {
    let opts = SeqOptions { phase: seqdiag::Phase::All, ..SeqOptions::default() };
    for name in
        ["client_close", "simultaneous_close", "fin_ack_combined", "lost_final_ack", "syn_ack_lost", "half_close"]
    {
        let (_, conns) = run(&crate::support::repo(&format!("fixtures/{name}.pcap")));
        let c = &conns[0];
        let scene = seqdiag::layout::layout(c, &opts).unwrap();
        check_scene(&scene);
        check_golden(&format!("seq-fixture-{name}"), &seqdiag::render(c, &opts).unwrap());
    }
}

#[test]
fn sequence_get_handshake_and_close() {
    let (scene, svg) = seq("zeek/http/get.pcap", 0, &SeqOptions::default());
    check_scene(&scene);
    check_golden("seq-get", &svg);
}

#[test]
fn sequence_post_simultaneous_close() {
    let (scene, svg) = seq("zeek/http/post.pcap", 0, &SeqOptions::default());
    check_scene(&scene);
    check_golden("seq-post", &svg);
}

#[test]
fn sequence_6syns_retransmissions_in_chinese() {
    let opts = SeqOptions { lang: Lang::Zh, names: Names::Linux, ..SeqOptions::default() };
    let (scene, svg) = seq("tcptrace/6syns.dmp.gz", 1, &opts);
    check_scene(&scene);
    check_golden("seq-6syns-zh", &svg);
}

#[test]
fn sequence_get_on_a_time_scale() {
    let opts = SeqOptions { scale: Scale::Time, phase: Phase::All, ..SeqOptions::default() };
    let (scene, svg) = seq("zeek/http/get.pcap", 0, &opts);
    check_scene(&scene);
    check_golden("seq-get-time", &svg);
}

#[test]
fn sequence_split_handshake_with_reset() {
    let opts = SeqOptions { phase: Phase::All, absolute: true, ..SeqOptions::default() };
    let (scene, svg) = seq("suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap", 0, &opts);
    check_scene(&scene);
    check_golden("seq-split-handshake", &svg);
}

use tcpstate::output::statediag::{self, Overlay};

#[test]
fn state_diagram_plain() {
    let scene = statediag::layout(&Overlay::None, Names::Rfc, Lang::En);
    check_scene(&scene);
    check_golden("states-plain", &scene.to_svg());
}

#[test]
fn state_diagram_with_the_paths_of_a_simultaneous_close() {
    let (_, conns) = run(&public_traces().join("zeek/http/post.pcap"));
    let scene = statediag::layout(&Overlay::path(&conns[0]), Names::Rfc, Lang::En);
    check_scene(&scene);
    check_golden("states-post", &scene.to_svg());
}

#[test]
fn state_diagram_with_the_paths_of_a_clean_close_in_chinese() {
    let (_, conns) = run(&public_traces().join("zeek/http/get.pcap"));
    let scene = statediag::layout(&Overlay::path(&conns[0]), Names::Linux, Lang::Zh);
    check_scene(&scene);
    check_golden("states-get-zh", &scene.to_svg());
}

#[test]
fn state_diagram_counting_arcs_over_a_scan() {
    let (_, conns) = run(&public_traces().join("rusticata-pcap-analyzer/nmap_tcp_22_ipv4.pcap"));
    let scene = statediag::layout(&Overlay::counts(&conns), Names::Rfc, Lang::En);
    check_scene(&scene);
    check_golden("states-nmap-all", &scene.to_svg());
}

// --- Numbers the layouts must get right ---

use tcpstate::output::svg::{Shape, Stroke};
use tcpstate::tcp::state::State;

/// A segment arrow: (from, to, stroke).
type Line = ((f64, f64), (f64, f64), Stroke);

/// The segment arrows in drawing order.
fn segment_lines(scene: &Scene) -> Vec<Line> {
    scene
        .items
        .iter()
        .filter(|i| i.class == "segment")
        .filter_map(|i| match &i.shape {
            Shape::Line { from, to, stroke } => Some(((from.x, from.y), (to.x, to.y), *stroke)),
            _ => None,
        })
        .collect()
}

fn texts_of(scene: &Scene, class: &str) -> Vec<String> {
    scene.texts().filter(|(c, _)| *c == class).map(|(_, t)| t.content.clone()).collect()
}

/// State labels beside one lifeline, top to bottom.
fn states_beside(scene: &Scene, left: bool) -> Vec<String> {
    let mid = scene.width / 2.0;
    let mut v: Vec<(f64, String)> = scene
        .texts()
        .filter(|(c, t)| *c == "state" && (t.at.x < mid) == left)
        .map(|(_, t)| (t.at.y, t.content.clone()))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v.into_iter().map(|(_, s)| s).collect()
}

#[test]
fn handshake_arrows_slant_one_step_each_and_reply_from_where_they_arrive() {
    let (scene, _) = seq("zeek/http/get.pcap", 0, &SeqOptions::default());
    let lines = segment_lines(&scene);
    let (syn, synack, ack) = (lines[0], lines[1], lines[2]);
    let (cx, sx) = (syn.0 .0, synack.0 .0);
    assert!(cx < sx);
    // SYN leaves the client, SYN,ACK leaves the server where the SYN arrived, ACK leaves
    // the client where the SYN,ACK arrived; each one level (46 px) lower.
    assert_eq!(syn.1 .1 - syn.0 .1, 46.0);
    assert_eq!(synack.0, (sx, syn.1 .1));
    assert_eq!(synack.1 .1 - synack.0 .1, 46.0);
    assert_eq!(ack.0, (cx, synack.1 .1));
    assert_eq!(lines.len(), 6, "3 handshake + 3 close arrows; data folded");
    assert_eq!(
        texts_of(&scene, "label"),
        [
            "SYN seq=0",
            "SYN,ACK seq=0 ack=1",
            "ACK seq=1 ack=1",
            "FIN,ACK seq=137 ack=5008",
            "FIN,ACK seq=5008 ack=138",
            "ACK seq=138 ack=5009",
        ]
    );
    assert_eq!(texts_of(&scene, "fold"), ["… 8 segments, 5.1 kB in 70.4 ms …"]);
    assert_eq!(states_beside(&scene, true), ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "TIME_WAIT"]);
    assert_eq!(states_beside(&scene, false), ["LISTEN", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"]);
    assert_eq!(texts_of(&scene, "time-wait"), ["2·MSL = 60 s"]);
}

#[test]
fn delays_come_from_the_handshake_round_trips() {
    let (_, conns) = run(&public_traces().join("zeek/http/get.pcap"));
    let segs = conns[0].segments.as_deref().unwrap();
    let d = seqdiag::model::delays(segs).unwrap();
    // SYN 0, SYN,ACK +69.740 ms, ACK +70.034 ms.
    assert!((d.server - 0.069_740 / 2.0).abs() < 1e-9, "{d:?}");
    assert!((d.client - 0.000_294 / 2.0).abs() < 1e-9, "{d:?}");
    assert!(d.from_handshake);
}

#[test]
fn simultaneous_close_draws_crossing_fins() {
    let (scene, _) = seq("zeek/http/post.pcap", 0, &SeqOptions::default());
    let lines = segment_lines(&scene);
    let labels = texts_of(&scene, "label");
    let fin = |l: &str| labels.iter().position(|x| x == l).unwrap();
    let (c, s) = (lines[fin("FIN,ACK seq=161 ack=520")], lines[fin("FIN,ACK seq=520 ack=161")]);
    // Both leave before either arrives: they cross.
    assert!(c.0 .0 < s.0 .0, "client's FIN goes right, server's left");
    assert!(c.0 .1 < s.1 .1 && s.0 .1 < c.1 .1, "{c:?} {s:?}");
    assert_eq!(states_beside(&scene, true)[3..], ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]);
}

#[test]
fn retransmissions_are_dashed_and_marked() {
    let opts = SeqOptions { phase: Phase::Handshake, ..SeqOptions::default() };
    let (scene, _) = seq("tcptrace/6syns.dmp.gz", 0, &opts);
    let lines = segment_lines(&scene);
    let labels = texts_of(&scene, "label");
    assert_eq!(labels[0], "SYN seq=0");
    assert_eq!(lines[0].2.dash, None);
    for i in 1..=3 {
        assert_eq!(labels[i], "SYN seq=0 (retransmission)");
        assert!(lines[i].2.dash.is_some());
    }
    assert_eq!(labels[4], "SYN,ACK seq=0 ack=1");
    // The rest is folded, and the close's states are not drawn.
    assert_eq!(texts_of(&scene, "fold"), ["… 13 segments, 9.7 kB in 130.2 s …"]);
    assert_eq!(states_beside(&scene, true), ["CLOSED", "SYN_SENT", "ESTABLISHED"]);
}

#[test]
fn resets_are_red_and_unseen_segments_are_ghosts() {
    let opts = SeqOptions { phase: Phase::All, ..SeqOptions::default() };
    let (scene, _) = seq("suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap", 0, &opts);
    let lines = segment_lines(&scene);
    let labels = texts_of(&scene, "label");
    let rst = labels.iter().position(|l| l.starts_with("RST")).unwrap();
    assert_eq!(lines[rst].2.color, "#cf222e");
    // The capture starts at the SYN,ACK: the client's SYN is drawn as a ghost.
    let (scene, _) = seq("zeek/tcp/missing-syn.pcap", 0, &opts);
    let lines = segment_lines(&scene);
    let labels = texts_of(&scene, "label");
    let ghost = labels.iter().position(|l| l == "SYN (not captured)").unwrap_or_else(|| panic!("{labels:?}"));
    assert!(lines[ghost].2.dash.is_some());
}

#[test]
fn absolute_numbers_on_request() {
    let opts = SeqOptions { absolute: true, ..SeqOptions::default() };
    let (scene, _) = seq("zeek/http/get.pcap", 0, &opts);
    let (_, conns) = run(&public_traces().join("zeek/http/get.pcap"));
    let syn = conns[0].segments.as_deref().unwrap()[0];
    assert_eq!(texts_of(&scene, "label")[0], format!("SYN seq={}", syn.seq.0));
}

#[test]
fn chinese_labels_keep_the_state_names() {
    let opts = SeqOptions { lang: Lang::Zh, ..SeqOptions::default() };
    let (scene, svg) = seq("zeek/http/get.pcap", 0, &opts);
    check_scene(&scene);
    let client = states_beside(&scene, true);
    assert_eq!(client[4..6], ["已建立连接", "ESTABLISHED"]);
    assert!(svg.contains("客户端") && svg.contains("等间距"));
}

#[test]
fn output_is_byte_identical_across_runs() {
    let a = seq("zeek/http/post.pcap", 0, &SeqOptions::default()).1;
    let b = seq("zeek/http/post.pcap", 0, &SeqOptions::default()).1;
    assert_eq!(a, b);
    let (_, conns) = run(&public_traces().join("zeek/http/post.pcap"));
    let s1 = statediag::render(&Overlay::path(&conns[0]), Names::Rfc, Lang::En);
    let s2 = statediag::render(&Overlay::path(&conns[0]), Names::Rfc, Lang::En);
    assert_eq!(s1, s2);
}

#[test]
fn a_connection_without_recorded_segments_is_an_error() {
    let (_, mut conns) = run(&public_traces().join("zeek/http/get.pcap"));
    conns[0].segments = None;
    assert_eq!(seqdiag::render(&conns[0], &SeqOptions::default()), Err(seqdiag::DiagramError::NoSegments(0)));
}

#[test]
fn state_diagram_numbers_each_endpoints_steps() {
    let (_, conns) = run(&public_traces().join("zeek/http/post.pcap"));
    let overlay = Overlay::path(&conns[0]);
    let Overlay::Paths { client, server, .. } = &overlay else { unreachable!() };
    use State::*;
    assert_eq!(
        client,
        &[(Closed, SynSent), (SynSent, Established), (Established, FinWait1), (FinWait1, Closing), (Closing, TimeWait)]
    );
    // The server's FIN crossed the client's: it was in FIN_WAIT_1 when the client's FIN came.
    assert_eq!(
        server,
        &[(Listen, SynRcvd), (SynRcvd, Established), (Established, FinWait1), (FinWait1, Closing), (Closing, TimeWait)]
    );
    let scene = statediag::layout(&overlay, Names::Rfc, Lang::En);
    let mut steps = texts_of(&scene, "step");
    steps.sort();
    assert_eq!(steps, ["1", "1", "2", "2", "3", "3", "4", "4", "5", "5"]);
}

#[test]
fn state_diagram_counts_arcs_over_all_connections() {
    let (_, conns) = run(&public_traces().join("rusticata-pcap-analyzer/nmap_tcp_22_ipv4.pcap"));
    let Overlay::Counts { counts, .. } = Overlay::counts(&conns) else { unreachable!() };
    assert_eq!(counts[&(State::Closed, State::SynSent)], 7);
    assert_eq!(counts[&(State::SynSent, State::Closed)], 5, "five refused");
    let scene = statediag::layout(&Overlay::counts(&conns), Names::Rfc, Lang::En);
    assert!(texts_of(&scene, "step").contains(&"7".to_string()));
}

#[test]
fn the_plain_state_diagram_shows_every_arc_of_the_machine() {
    let scene = statediag::layout(&Overlay::None, Names::Rfc, Lang::En);
    let labels = texts_of(&scene, "event");
    for arc in statediag::arcs().iter().filter(|a| !a.abort) {
        for ev in &arc.events {
            assert!(labels.contains(&ev.to_string()), "{} → {}: label {ev} missing", arc.from, arc.to);
        }
    }
    let arcs = scene.items.iter().filter(|i| i.class == "arc").count();
    // One curve and one arrowhead per non-abort arc.
    assert_eq!(arcs, 2 * statediag::arcs().iter().filter(|a| !a.abort).count());
}

// --- The command line ---

fn tcpstate(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tcpstate")).args(args).output().unwrap()
}

#[test]
fn cli_writes_svg_to_stdout_or_a_file() {
    let cap = public_traces().join("zeek/http/get.pcap");
    let cap = cap.to_str().unwrap();
    let out = tcpstate(&["diagram", cap]);
    assert_eq!(out.status.code(), Some(0));
    let golden = std::fs::read_to_string(golden_dir().join("seq-get.svg")).unwrap();
    assert!(out.stdout == golden.as_bytes(), "stdout differs from seq-get.svg");
    let file = std::env::temp_dir().join(format!("tcpstate-states-{}.svg", std::process::id()));
    let out = tcpstate(&["states", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let plain = std::fs::read_to_string(golden_dir().join("states-plain.svg")).unwrap();
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written == plain, "{} differs from states-plain.svg", file.display());
    let _ = std::fs::remove_file(file);
}

#[test]
fn cli_refuses_unusable_requests_with_status_2() {
    let cap = public_traces().join("tcptrace/6syns.dmp.gz");
    let cap = cap.to_str().unwrap();
    for args in [vec!["diagram", cap], vec!["diagram", cap, "--conn", "9"], vec!["states", "--all"]] {
        let out = tcpstate(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

/// The public captures: the files that have a tshark reference beside them.
fn public_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![public_traces()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let mut reference = path.clone().into_os_string();
            reference.push(".tshark-fields.txt");
            if path.is_dir() {
                stack.push(path);
            } else if Path::new(&reference).exists() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every connection of every public capture draws, in both scales, without overlapping or
/// clipped text: the layout rules hold beyond the goldens.
#[test]
fn every_public_connection_draws_cleanly() {
    let mut drawn = 0;
    for cap in public_captures() {
        let (_, conns) = run(&cap);
        for c in &conns {
            for (phase, scale) in [(Phase::HandshakeAndClose, Scale::Uniform), (Phase::All, Scale::Time)] {
                let opts = SeqOptions { phase, scale, ..SeqOptions::default() };
                match seqdiag::layout::layout(c, &opts) {
                    Ok(scene) => {
                        check_scene(&scene);
                        drawn += 1;
                    }
                    Err(e) => panic!("{} connection {}: {e}", cap.display(), c.id),
                }
            }
        }
        let scene = statediag::layout(&Overlay::counts(&conns), Names::Rfc, Lang::En);
        check_scene(&scene);
    }
    assert!(drawn > 100, "only {drawn} diagrams");
}

#[test]
fn arc_counts_count_connections_not_endpoints() {
    // In a simultaneous close both endpoints go ESTABLISHED → FIN_WAIT_1: one connection.
    let (_, conns) = run(&public_traces().join("zeek/http/post.pcap"));
    let Overlay::Counts { counts, .. } = Overlay::counts(&conns) else { unreachable!() };
    assert_eq!(counts[&(State::Established, State::FinWait1)], 1);
}

#[test]
fn a_connection_picked_up_mid_stream_has_no_delay_estimate_and_still_marks_resends() {
    let (scene, _) = seq("zeek/tcp/retransmit-timeout.pcapng", 0, &SeqOptions::default());
    let labels = texts_of(&scene, "label");
    assert_eq!(labels[0], "ACK seq=0 ack=0 len=18");
    assert_eq!(labels[2], "ACK seq=0 ack=0 len=18 (retransmission)");
    assert!(texts_of(&scene, "legend")[0].starts_with("One-way delays unknown"));
    assert_eq!(states_beside(&scene, true), ["ESTABLISHED"]);
}

#[test]
fn a_connection_still_open_folds_what_follows_the_handshake() {
    let (scene, _) = seq("zeek/wikipedia.pcap", 5, &SeqOptions::default());
    assert_eq!(segment_lines(&scene).len(), 3);
    assert_eq!(texts_of(&scene, "fold"), ["… 7 segments, 1.9 kB in 161.6 ms …"]);
}

#[test]
fn a_long_run_of_plain_segments_in_the_close_is_folded_around_its_ends() {
    let (_, mut conns) = run(&public_traces().join("zeek/http/get.pcap"));
    let c = &mut conns[0];
    let segs = c.segments.as_mut().unwrap();
    // Twenty pure ACKs from the server between the client's FIN (frame 12) and its own.
    let fin = segs.iter().position(|s| s.frame.0 == 12).unwrap();
    let mut ack = segs[fin + 1];
    ack.flags = tcpstate::decode::TcpFlags(tcpstate::decode::TcpFlags::ACK);
    for k in 0..20 {
        let mut s = ack;
        s.frame = tcpstate::frame::FrameNo(100 + k);
        s.ts = tcpstate::frame::Timestamp(segs[fin].ts.0 + 1_000 * (k as i64 + 1));
        segs.insert(fin + 1 + k as usize, s);
    }
    let scene = seqdiag::layout::layout(c, &SeqOptions::default()).unwrap();
    check_scene(&scene);
    assert_eq!(texts_of(&scene, "fold"), ["… 8 segments, 5.1 kB in 70.4 ms …", "… 16 segments, 0 B in 15 µs …"]);
    assert_eq!(segment_lines(&scene).len(), 3 + 1 + 2 + 2 + 2);
}

#[test]
fn sequence_close_with_the_time_wait_timer_expiring() {
    let opts = SeqOptions { phase: Phase::Close, ..SeqOptions::default() };
    let (scene, svg) = seq("tcptrace/6syns.dmp.gz", 0, &opts);
    check_scene(&scene);
    check_golden("seq-6syns-close", &svg);
    // TIME_WAIT ran its 60 s within the capture: the bracket ends at CLOSED.
    assert_eq!(states_beside(&scene, true), ["ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]);
    assert_eq!(texts_of(&scene, "time-wait"), ["2·MSL = 60 s"]);
}

#[test]
fn sequence_refused_connection() {
    let (scene, svg) = seq("rusticata-pcap-analyzer/nmap_tcp_22_ipv4.pcap", 1, &SeqOptions::default());
    check_scene(&scene);
    check_golden("seq-nmap-refused", &svg);
    assert_eq!(texts_of(&scene, "label"), ["SYN seq=0", "RST,ACK seq=0 ack=1"]);
    assert_eq!(states_beside(&scene, false), ["CLOSED"]);
}
