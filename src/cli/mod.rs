//! The command line: one subcommand per user task, turned into library options at the edge.

mod analyze;
mod check;
mod diagram;
pub(crate) mod malloc;
mod progress;
mod report;
mod states;
mod summary;
mod timeline;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use tcpstate::tcp::state::Names;

#[derive(Parser, Debug)]
#[command(name = "tcpstate", version, about = "Reconstruct both endpoints' TCP state timelines from packet captures")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Reconstruct every connection's client and server state timelines.
    Analyze(analyze::AnalyzeArgs),
    /// Compare captures with their expected timelines (exit 1 on a difference), or --bless them.
    Check(check::CheckArgs),
    /// Outcomes, time in each state, diagnoses, and Zeek/Wireshark ids per connection.
    Summary(summary::SummaryArgs),
    /// Draw the endpoints' states over time (SVG or PNG).
    Timeline(timeline::TimelineArgs),
    /// Draw one connection's sequence diagram (handshake and close) as SVG.
    Diagram(diagram::DiagramArgs),
    /// Draw the RFC 9293 state diagram as SVG, with the paths connections took.
    States(states::StatesArgs),
    /// Write a self-contained HTML report: summary, sortable connection table, diagrams.
    Report(report::ReportArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum NameStyle {
    /// RFC 9293 names: SYN_RCVD, FIN_WAIT_1, CLOSED, ...
    Rfc,
    /// Linux netstat/ss names: SYN_RECV, FIN_WAIT1, CLOSE, ...
    Linux,
}

impl From<NameStyle> for Names {
    fn from(n: NameStyle) -> Names {
        match n {
            NameStyle::Rfc => Names::Rfc,
            NameStyle::Linux => Names::Linux,
        }
    }
}

/// Exit status: 0 success, 1 findings (check mismatches), 2 unusable input.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Check(args) => check::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Timeline(args) => timeline::run(args),
        Command::Diagram(args) => diagram::run(args),
        Command::States(args) => states::run(args),
        Command::Report(args) => report::run(args),
    }
}

/// `--threads`: how many threads to use; all cores by default.
pub(crate) fn threads(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1)
}
