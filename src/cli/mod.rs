//! The command line: one subcommand per user task, turned into library options at the edge.

mod analyze;
mod diagram;
mod states;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use tcpstate::tcp::state::Names;

#[derive(Parser, Debug)]
#[command(
    name = "tcpstate",
    version,
    about = "Reconstruct both endpoints' TCP state timelines from packet captures"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Reconstruct every connection's client and server state timelines.
    Analyze(analyze::AnalyzeArgs),
    /// Draw one connection's sequence diagram (handshake and close) as SVG.
    Diagram(diagram::DiagramArgs),
    /// Draw the RFC 9293 state diagram as SVG, with the paths connections took.
    States(states::StatesArgs),
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
        Command::Diagram(args) => diagram::run(args),
        Command::States(args) => states::run(args),
    }
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LangArg {
    /// English
    En,
    /// Chinese (中文): state labels with the textbook terms, legend
    Zh,
}

impl From<LangArg> for tcpstate::output::seqdiag::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::En => Self::En,
            LangArg::Zh => Self::Zh,
        }
    }
}

fn time_wait(secs: f64) -> Result<tcpstate::frame::Duration> {
    if !(secs.is_finite() && secs >= 0.0) {
        anyhow::bail!("--time-wait must be a non-negative number of seconds");
    }
    Ok(tcpstate::frame::Duration::from_secs_f64(secs))
}

/// Writes a drawing to `path`, or to standard output for `-` or no path.
fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
