//! The timeline chart: layout numbers from the model, and the SVG/PNG renderers' output.

use std::path::PathBuf;

use tcpstate::output::chart::{self, Selection, MAX_LANE_CONNECTIONS};
use tcpstate::summary::{summarize, visits, SummaryOptions};
use tcpstate::tcp::state::State;
use tcpstate::timeline::{Connection, Role};
use tcpstate::{analyze, Options, Report};

use crate::support::public_traces;

fn load(rel: &[&str]) -> (Report, Vec<Connection>) {
    let paths: Vec<PathBuf> = rel.iter().map(|r| public_traces().join(r)).collect();
    let mut conns = Vec::new();
    let report = analyze(&paths, &Options::default(), &mut conns).unwrap();
    conns.sort_by_key(|c| c.id);
    (report, conns)
}

fn model(rel: &[&str], sel: Selection) -> Result<chart::ChartModel, String> {
    let (report, conns) = load(rel);
    let summary = summarize(&report, &conns, &SummaryOptions::default());
    chart::model(&report, &conns, &sel, &summary)
}

#[test]
fn simultaneous_close_draws_two_lanes_with_the_closing_path() {
    let m = model(&["zeek/http/post.pcap"], Selection::All).unwrap();
    assert!(m.aggregate.is_none());
    assert_eq!(m.note, None);
    assert_eq!(m.lanes.len(), 2);
    assert_eq!(m.lanes[0].label, "#0 client 141.142.228.5:53595");
    assert_eq!(m.lanes[1].role, Role::Server);
    let client: Vec<State> = m.lanes[0].spans.iter().map(|s| s.state).collect();
    assert_eq!(client, vec![State::SynSent, State::Established, State::FinWait1, State::Closing, State::TimeWait]);
    // Spans tile the lane: each ends where the next begins; the last reaches the capture end.
    let spans = &m.lanes[0].spans;
    for w in spans.windows(2) {
        assert_eq!(w[0].until, w[1].from);
    }
    assert_eq!(spans[0].from, 0.0);
    assert!((spans[spans.len() - 1].until - m.span).abs() < 1e-9);
}

#[test]
fn unknown_connection_ids_are_named() {
    let err = model(&["zeek/http/post.pcap"], Selection::Ids(vec![0, 7, 9])).unwrap_err();
    assert_eq!(err, "no connection 7, 9: the capture has 1 connection (id 0)");
}

#[test]
fn many_connections_switch_to_the_aggregate_and_top_lanes() {
    let files = ["zeek/ssh/ssh.client-side-half-duplex.pcap", "zeek/wikipedia.pcap", "zeek/ftp/ipv6.pcap"];
    let (report, conns) = load(&files);
    assert_eq!(conns.len(), 36);
    let summary = summarize(&report, &conns, &SummaryOptions::default());
    let m = chart::model(&report, &conns, &Selection::All, &summary).unwrap();
    assert_eq!(m.lanes.len(), 2 * MAX_LANE_CONNECTIONS);
    assert!(m.note.as_deref().unwrap().starts_with("36 connections"));
    // The half-open #9 ranks among the lanes shown.
    let ids: Vec<u64> = m.lanes.iter().map(|l| l.connection).collect();
    assert_eq!(conns.iter().filter(|c| c.server.port() == 22).count(), 20);
    assert!(ids.contains(&9));
    // The aggregate integrates exactly: endpoint-seconds per state equal the visits'.
    let agg = m.aggregate.as_ref().unwrap();
    let end = report.last_ts.unwrap();
    for state in [State::Established, State::CloseWait, State::TimeWait] {
        let drawn: f64 = agg.counts[&state].iter().sum::<f64>() * agg.bin_width;
        let truth: f64 = conns
            .iter()
            .flat_map(|c| [&c.endpoints.client, &c.endpoints.server])
            .flat_map(|t| visits(t, end))
            .filter(|v| v.state == state)
            .map(|v| v.until.since(v.from).as_secs_f64())
            .sum();
        assert!((drawn - truth).abs() <= 1e-6 * truth.max(1.0), "{state}: drawn {drawn} vs {truth}");
    }
    assert!(!agg.counts.contains_key(&State::Listen));
}

#[test]
fn png_has_the_model_size_and_is_deterministic() {
    let m = model(&["zeek/tcp/miss_end_data.pcap"], Selection::All).unwrap();
    let a = chart::render_png(&m).unwrap();
    let b = chart::render_png(&m).unwrap();
    assert_eq!(a, b);
    assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes([a[16], a[17], a[18], a[19]]);
    let h = u32::from_be_bytes([a[20], a[21], a[22], a[23]]);
    assert_eq!((w, h), chart::size(&m));
    // The lanes are drawn in state colours: ESTABLISHED green appears in the picture.
    let decoder = png::Decoder::new(std::io::Cursor::new(&a));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buf).unwrap();
    let green = chart::color(State::Established);
    assert!(buf.chunks(3).any(|p| p == [green.0, green.1, green.2]));
}

#[test]
fn svg_carries_labels_legend_and_is_deterministic() {
    let m = model(&["zeek/tcp/miss_end_data.pcap"], Selection::Ids(vec![0])).unwrap();
    let svg = chart::render_svg(&m).unwrap();
    assert_eq!(svg, chart::render_svg(&m).unwrap());
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("#0 client 192.168.122.230:60648"));
    assert!(svg.contains("TIME_WAIT"));
    assert!(svg.contains("seconds since first connection start"), "axis title");
}

#[test]
fn chosen_connections_get_their_own_time_window() {
    // Connection 1 of fast_reuse starts 178.9 s into the capture; its last step is the
    // client's TIME_WAIT expiring 60 s after the close (76.6 s in): the window ends a tenth
    // later, not at the capture's end (3,000+ s).
    let m = model(&["tcptrace/fast_reuse.dmp.gz"], Selection::Ids(vec![1])).unwrap();
    assert_eq!(m.origin_is, "first connection start");
    assert_eq!(m.lanes.len(), 2);
    assert_eq!(m.lanes[0].spans[0].from, 0.0);
    assert!((m.span - 84.258_098_1).abs() < 1e-6, "span {}", m.span);
    let tw = m.lanes[0].spans.last().unwrap();
    assert_eq!(tw.state, State::TimeWait);
    assert!((tw.until - 76.598_271).abs() < 1e-3, "TIME_WAIT ends {}", tw.until);
    let all = model(&["tcptrace/fast_reuse.dmp.gz"], Selection::All).unwrap();
    assert_eq!(all.origin_is, "capture start");
    assert!(all.span > 3000.0, "span {}", all.span);
}
