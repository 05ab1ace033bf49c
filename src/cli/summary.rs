//! `tcpstate summary`: how the connections ended, how long endpoints stayed in each state,
//! and what looks broken, as a table or the `tcpstate-summary/1` JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};

use tcpstate::flow::SegmentLog;
use tcpstate::frame::Duration;
use tcpstate::output::summary_text;
use tcpstate::summary::{SummaryBuilder, SummaryOptions};
use tcpstate::{analyze, Options};

use super::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct SummaryArgs {
    /// Threads: 1 does everything on one; N ≥ 2 runs N flow tables, sharded by connection,
    /// one beside the reading and the others on threads of their own. The output is
    /// identical. Default: all cores.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Print the tcpstate-summary/1 JSON document (every id and frame, per-connection Zeek
    /// conn_state/history and tcp.stream).
    #[arg(long)]
    pub json: bool,
    /// Also list every connection with its tcp.stream, Wireshark tcp.completeness and Zeek
    /// conn_state/history.
    #[arg(long)]
    pub connections: bool,
    /// Length of TIME_WAIT (2·MSL) in seconds; Linux uses 60.
    #[arg(long = "time-wait", value_name = "SECONDS", default_value_t = 60.0)]
    pub time_wait: f64,
    /// Report FIN_WAIT_2 lasting at least this long (Linux tcp_fin_timeout is 60 s).
    #[arg(long = "fin-wait-2", value_name = "SECONDS", default_value_t = 60.0)]
    pub fin_wait_2: f64,
}

fn seconds(name: &str, v: f64) -> Result<Duration> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("{name} must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn run(args: SummaryArgs) -> Result<u8> {
    let progress = Progress::start(&args.captures);
    let opts = Options {
        time_wait: seconds("--time-wait", args.time_wait)?,
        segments: SegmentLog::None,
        progress: progress.counter(),
        threads: super::threads(args.threads),
    };
    let sopts = SummaryOptions {
        long_fin_wait_2: seconds("--fin-wait-2", args.fin_wait_2)?,
        per_connection: args.json || args.connections,
    };
    // Folded as they come: the summary needs a few ids per connection, not its timelines.
    let mut builder = SummaryBuilder::new(sopts);
    let report = analyze(&args.captures, &opts, &mut builder)?;
    progress.finish();
    let summary = builder.finish(&report);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if args.json {
        // Serialized first, so a closed pipe surfaces as the io::Error main() ends quietly on.
        let mut text = serde_json::to_vec_pretty(&summary)?;
        text.push(b'\n');
        out.write_all(&text)?;
    } else {
        out.write_all(summary_text::render(&summary, args.connections).as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}
