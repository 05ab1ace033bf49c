//! `tcpstate analyze`: the connection table, one connection's timelines, or JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use tcpstate::flow::{SegmentLog, Sink};
use tcpstate::frame::Duration;
use tcpstate::output::json::{DocumentSink, LineSink};
use tcpstate::output::no_connection;
use tcpstate::output::text::{self, Row};
use tcpstate::tcp::state::Names;
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

use super::progress::Progress;
use super::NameStyle;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Threads: 1 does everything on one; N ≥ 2 runs N flow tables, sharded by connection,
    /// one beside the reading and the others on threads of their own. The output is
    /// identical. Default: all cores.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    /// Several files are merged by timestamp into one capture.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Show this connection's two timelines side by side (ids as Wireshark's tcp.stream).
    #[arg(long = "conn", value_name = "ID")]
    pub conn: Option<u64>,
    /// Print the tcpstate/1 JSON document.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON object per connection per line, as each finishes.
    #[arg(long)]
    pub jsonl: bool,
    /// State names to print.
    #[arg(long, value_enum, default_value_t = NameStyle::Rfc)]
    pub names: NameStyle,
    /// Length of TIME_WAIT (2·MSL) in seconds; Linux uses 60.
    #[arg(long = "time-wait", value_name = "SECONDS", default_value_t = 60.0)]
    pub time_wait: f64,
}

pub fn run(args: AnalyzeArgs) -> Result<u8> {
    if !(args.time_wait.is_finite() && args.time_wait >= 0.0) {
        bail!("--time-wait must be a non-negative number of seconds");
    }
    let progress = Progress::start(&args.captures);
    let opts = Options {
        time_wait: Duration::from_secs_f64(args.time_wait),
        segments: SegmentLog::None,
        progress: progress.counter(),
        threads: super::threads(args.threads),
    };
    let names: Names = args.names.into();
    // Connections are written from this thread, also with --threads (see `shards`).
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if args.jsonl {
        let mut sink = LineSink::new(&mut out);
        let report = analyze(&args.captures, &opts, &mut sink)?;
        progress.finish();
        // JSON Lines carry connections only: damaged input is reported on stderr.
        for w in &report.warnings {
            eprintln!("tcpstate: warning: {w}");
        }
        sink.end()?;
    } else if args.json {
        let mut sink = DocumentSink::begin(&mut out, &args.captures)?;
        let report = analyze(&args.captures, &opts, &mut sink)?;
        progress.finish();
        sink.end(&report)?;
    } else if let Some(id) = args.conn {
        let mut sink = OneSink { id, found: None, count: 0 };
        let report = analyze(&args.captures, &opts, &mut sink)?;
        progress.finish();
        let c = sink.found.with_context(|| no_connection(id, sink.count))?;
        out.write_all(text::connection_timelines(&report, &c, names).as_bytes())?;
    } else {
        let mut sink = RowSink { rows: Vec::new(), names };
        let report = analyze(&args.captures, &opts, &mut sink)?;
        progress.finish();
        sink.rows.sort_by_key(|r| r.id);
        out.write_all(text::summary_table(&report, &sink.rows).as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}

/// Keeps one connection, counts the rest.
struct OneSink {
    id: u64,
    found: Option<Connection>,
    count: u64,
}

impl Sink for OneSink {
    fn connection(&mut self, conn: Connection) {
        self.count += 1;
        if conn.id == self.id {
            self.found = Some(conn);
        }
    }
}

/// Keeps only the table row of each connection.
struct RowSink {
    rows: Vec<Row>,
    names: Names,
}

impl Sink for RowSink {
    fn connection(&mut self, conn: Connection) {
        self.rows.push(Row::of(&conn, self.names));
    }
}
