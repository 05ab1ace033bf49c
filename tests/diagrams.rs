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
            panic!(
                "{}: {e}; run with TCPSTATE_BLESS=1 to create it, then look at it",
                path.display()
            )
        });
        assert!(
            want == svg,
            "{} differs from the output; run with TCPSTATE_BLESS=1 if the change is intended",
            path.display()
        );
    }
    check_xml(svg);
    render_png(name, svg);
}

/// Parses as XML; every text is a `<text>` element with content.
#[track_caller]
fn check_xml(svg: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let texts = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .count();
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
            assert!(
                !q1.overlaps(q2),
                "{c1} text {:?} overlaps {c2} text {:?}",
                t1.content,
                t2.content
            );
        }
    }
}

fn fonts() -> resvg::usvg::fontdb::Database {
    let mut db = resvg::usvg::fontdb::Database::new();
    db.load_font_data(
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts/DejaVuSans.ttf"))
            .unwrap(),
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
    let mut opt = resvg::usvg::Options {
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    *opt.fontdb_mut() = fonts();
    let tree = resvg::usvg::Tree::from_str(svg, &opt).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
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
    assert!(
        border_clean,
        "{name}: something is drawn at the canvas edge (clipped?)"
    );
    let inked = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| px(x, y) != white)
        .count();
    assert!(
        inked > 1000,
        "{name}: almost nothing drawn ({inked} pixels)"
    );
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
    let opts = SeqOptions {
        lang: Lang::Zh,
        names: Names::Linux,
        ..SeqOptions::default()
    };
    let (scene, svg) = seq("tcptrace/6syns.dmp.gz", 1, &opts);
    check_scene(&scene);
    check_golden("seq-6syns-zh", &svg);
}

#[test]
fn sequence_get_on_a_time_scale() {
    let opts = SeqOptions {
        scale: Scale::Time,
        phase: Phase::All,
        ..SeqOptions::default()
    };
    let (scene, svg) = seq("zeek/http/get.pcap", 0, &opts);
    check_scene(&scene);
    check_golden("seq-get-time", &svg);
}

#[test]
fn sequence_split_handshake_with_reset() {
    let opts = SeqOptions {
        phase: Phase::All,
        absolute: true,
        ..SeqOptions::default()
    };
    let (scene, svg) = seq(
        "suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap",
        0,
        &opts,
    );
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
