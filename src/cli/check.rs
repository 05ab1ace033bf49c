//! `tcpstate check`: compare captures with their expectation files, or bless them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use tcpstate::check::{compare, expectation, Expectation, TimestampCheck};
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A capture, or a directory whose captures are each checked against CAPTURE.expect.json.
    pub target: PathBuf,
    /// The expectation file (default: CAPTURE.expect.json).
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Write (or overwrite) the expectation files from the current analysis.
    #[arg(long)]
    pub bless: bool,
    /// With --bless: also record timestamps, compared within this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timestamps: Option<f64>,
}

/// What counts as a capture in a directory: the formats we read, by the names tools give them.
fn is_capture(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    [".pcap", ".pcapng", ".cap", ".dmp", ".pcap.gz", ".pcapng.gz", ".dmp.gz"].iter().any(|ext| name.ends_with(ext))
}

fn expect_path(capture: &Path) -> PathBuf {
    PathBuf::from(format!("{}.expect.json", capture.display()))
}

fn connections(capture: &Path) -> Result<Vec<Connection>> {
    let mut conns = Vec::new();
    analyze(&[capture.to_path_buf()], &Options::default(), &mut conns)?;
    conns.sort_by_key(|c| c.id);
    Ok(conns)
}

enum Outcome {
    Passed,
    Failed(String),
    Blessed,
}

fn check_one(capture: &Path, expect: &Path, args: &CheckArgs) -> Result<Outcome> {
    let conns = connections(capture)?;
    if args.bless {
        let exp = expectation(&conns, args.timestamps.map(|tolerance| TimestampCheck { tolerance }));
        let mut text = serde_json::to_string_pretty(&exp)?;
        text.push('\n');
        std::fs::write(expect, text).with_context(|| format!("writing {}", expect.display()))?;
        return Ok(Outcome::Blessed);
    }
    let text = std::fs::read_to_string(expect)
        .with_context(|| format!("{}: no expectation (run with --bless to write one)", expect.display()))?;
    let exp: Expectation =
        serde_json::from_str(&text).with_context(|| format!("{}: not a tcpstate-expect/1 file", expect.display()))?;
    let diff = compare(&exp, &conns);
    Ok(if diff.is_empty() { Outcome::Passed } else { Outcome::Failed(diff.summary()) })
}

pub fn run(args: CheckArgs) -> Result<u8> {
    if args.target.is_dir() {
        if args.expect.is_some() {
            bail!("--expect names one file; with a directory each capture uses CAPTURE.expect.json");
        }
        let mut captures: Vec<PathBuf> = std::fs::read_dir(&args.target)
            .with_context(|| format!("reading {}", args.target.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_capture(p))
            .collect();
        captures.sort();
        let (mut passed, mut failed) = (0, 0);
        for cap in &captures {
            let name = cap.display();
            match check_one(cap, &expect_path(cap), &args) {
                Ok(Outcome::Passed) => {
                    passed += 1;
                    println!("ok      {name}");
                }
                Ok(Outcome::Blessed) => {
                    passed += 1;
                    println!("blessed {name}");
                }
                Ok(Outcome::Failed(why)) => {
                    failed += 1;
                    println!("FAILED  {name}: {why}");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAILED  {name}: {e:#}");
                }
            }
        }
        println!("{passed} passed, {failed} failed");
        return Ok(if failed == 0 { 0 } else { 1 });
    }
    let expect = args.expect.clone().unwrap_or_else(|| expect_path(&args.target));
    match check_one(&args.target, &expect, &args)? {
        Outcome::Passed => {
            println!("ok: {} matches {}", args.target.display(), expect.display());
            Ok(0)
        }
        Outcome::Blessed => {
            println!("wrote {}", expect.display());
            Ok(0)
        }
        Outcome::Failed(why) => {
            println!("{}: differs from {}:\n  {why}", args.target.display(), expect.display());
            Ok(1)
        }
    }
}
