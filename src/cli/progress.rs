//! A progress bar on standard error for runs that take more than a moment: never when
//! standard error is not a terminal, never on standard output (where JSON goes), and never
//! before a second has passed, so quick runs stay silent.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this never show a bar.
const DELAY: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);

pub struct Progress {
    shown: Option<Shown>,
}

struct Shown {
    counter: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Progress {
    /// Starts watching, if standard error is a terminal. The total is the inputs' size when
    /// every input is a plain file (gzip and standard input give a byte counter instead).
    pub fn start(inputs: &[PathBuf]) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { shown: None };
        }
        let total = total_size(inputs);
        let counter = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counter, stop) = (counter.clone(), stop.clone());
            std::thread::spawn(move || watch(total, &counter, &stop))
        };
        Progress { shown: Some(Shown { counter, stop, thread }) }
    }

    /// The counter `tcpstate::Options::progress` advances.
    pub fn counter(&self) -> Option<Arc<AtomicU64>> {
        self.shown.as_ref().map(|s| s.counter.clone())
    }

    /// Removes the bar (and waits until it is gone) before anything else is printed.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(s) = self.shown.take() {
            s.stop.store(true, Ordering::Relaxed);
            s.thread.thread().unpark();
            // A panicked drawing thread only loses the bar.
            let _ = s.thread.join();
        }
    }
}

/// An error return still clears the bar before the message is printed.
impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sum of the inputs' sizes, or `None` when one is compressed or standard input (the
/// counter counts decompressed bytes).
fn total_size(inputs: &[PathBuf]) -> Option<u64> {
    let mut total = 0;
    for p in inputs {
        let compressed = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if p.as_os_str() == "-" || compressed {
            return None;
        }
        total += std::fs::metadata(p).ok()?.len();
    }
    Some(total)
}

fn watch(total: Option<u64>, counter: &AtomicU64, stop: &AtomicBool) {
    let started = Instant::now();
    while started.elapsed() < DELAY {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::park_timeout(TICK);
    }
    let bar = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{spinner} reading {binary_bytes}/{binary_total_bytes} [{wide_bar}] {percent}% eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} reading {binary_bytes} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    while !stop.load(Ordering::Relaxed) {
        bar.set_position(counter.load(Ordering::Relaxed));
        std::thread::park_timeout(TICK);
    }
    bar.finish_and_clear();
}
