//! Broken input: each case gets one line naming the file, the frame and the byte offset, and
//! whatever the readable part gives. Exit codes through the real binary: 2 when a file is not
//! a capture at all, 0 (with a warning) when a capture is damaged after its header.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tcpstate::flow::SegmentLog;
use tcpstate::timeline::Connection;
use tcpstate::{analyze, Options, Report};

use crate::capture_formats::{conversation, fixtures};
use crate::pcapwriter::{addr, Capture, Pcap, Seg, START_NS};

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture_errors");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tcpstate(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpstate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the binary on `bytes` saved as `name`; returns exit code, stdout, stderr.
fn run_bin(name: &str, bytes: &[u8]) -> (i32, String, String, PathBuf) {
    let path = scratch(name, bytes);
    let out = tcpstate(&["analyze", path.to_str().unwrap()], None);
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr), path)
}

fn run_lib(name: &str, bytes: &[u8]) -> (Report, Vec<Connection>, PathBuf) {
    let path = scratch(name, bytes);
    let opts = Options { segments: SegmentLog::All, ..Options::default() };
    let mut conns = Vec::new();
    let report = analyze(std::slice::from_ref(&path), &opts, &mut conns).unwrap_or_else(|e| panic!("{e}"));
    let skipped: u64 = report.frames.skipped.values().sum();
    assert_eq!(report.frames.total, report.frames.tcp + skipped);
    (report, conns, path)
}

fn ethernet_pcap() -> Vec<u8> {
    std::fs::read(fixtures().join("ethernet.pcap")).unwrap()
}

#[track_caller]
fn assert_unusable(name: &str, bytes: &[u8], message: &str) {
    let (code, stdout, stderr, path) = run_bin(name, bytes);
    assert_eq!(code, 2, "{name}: {stderr}");
    assert_eq!(stdout, "", "{name}");
    assert_eq!(stderr, format!("tcpstate: {} (byte offset 0): {message}\n", path.display()), "{name}");
}

#[test]
fn empty_file_is_unusable() {
    assert_unusable("empty.pcap", b"", "empty file: no capture header");
}

#[test]
fn garbage_is_unusable_and_its_first_bytes_are_shown() {
    assert_unusable(
        "garbage.pcap",
        b"hello, this is not a capture\n",
        "not a pcap or pcapng capture: unknown magic number 68 65 6c 6c",
    );
}

#[test]
fn wrong_magic_by_one_bit_is_unusable() {
    let mut bytes = ethernet_pcap();
    bytes[0] ^= 0x01;
    assert_unusable("wrong-magic.pcap", &bytes, "not a pcap or pcapng capture: unknown magic number d5 c3 b2 a1");
}

#[test]
fn header_cut_short_is_unusable() {
    assert_unusable(
        "short-header.pcap",
        &ethernet_pcap()[..10],
        "file too short for a capture header (10 of 24 bytes)",
    );
}

#[test]
fn pcapng_section_header_with_absurd_length_is_unusable() {
    let mut bytes = std::fs::read(fixtures().join("sections.pcapng")).unwrap();
    // Big-endian section: length at bytes 4..8.
    bytes[4..8].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    assert_unusable(
        "absurd-shb.pcapng",
        &bytes,
        "pcapng section header declares 2147483632 bytes (corrupt length field)",
    );
}

#[test]
fn gzip_of_garbage_is_unusable() {
    let (code, _, stderr, _) = run_bin("garbage.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]);
    assert_eq!(code, 2);
    assert!(stderr.contains("(byte offset 0): "), "{stderr}");
}

#[test]
fn a_directory_is_unusable() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = tcpstate(&["analyze", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with(&format!("tcpstate: {}", dir.display())));
}

#[test]
fn a_missing_file_is_named_and_its_reason_given_once() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-capture.pcap");
    let out = tcpstate(&["analyze", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("tcpstate: {}: No such file or directory (os error 2)\n", missing.display()));
}

#[test]
fn file_cut_mid_record_keeps_what_was_read() {
    let bytes = ethernet_pcap();
    // The last record is 16 + 54 bytes long and starts 70 bytes before the end.
    let cut = &bytes[..bytes.len() - 30];
    let (report, conns, path) = run_lib("cut.pcap", cut);
    assert_eq!(report.frames.total, 7);
    assert_eq!(conns.len(), 1);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 8 (byte offset {}): file ends in the middle of a record (40 of its 70 bytes present; capture cut short?); reading of this file stops here, after its first 7 frames",
            path.display(),
            bytes.len() - 70
        )]
    );
    // The binary prints the connection and the warning, and succeeds.
    let out = tcpstate(&["analyze", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("10.0.0.1:40000"), "{stdout}");
    assert!(stdout.contains("file ends in the middle of a record"), "{stdout}");
}

#[test]
fn file_cut_inside_a_record_header_keeps_what_was_read() {
    let bytes = ethernet_pcap();
    let cut = &bytes[..bytes.len() - 70 + 5];
    let (report, conns, path) = run_lib("cut-header.pcap", cut);
    assert_eq!((report.frames.total, conns.len()), (7, 1));
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 8 (byte offset {}): file ends in the middle of a record (capture cut short?); reading of this file stops here, after its first 7 frames",
            path.display(),
            bytes.len() - 70
        )]
    );
}

#[test]
fn gzip_cut_short_keeps_what_was_read() {
    let gz = std::fs::read(fixtures().join("ethernet.pcap.gz")).unwrap();
    // Cut in the deflate stream: the decompressor delivers what it can, then fails.
    let (report, conns, path) = run_lib("cut.pcap.gz", &gz[..gz.len() - 12]);
    assert_eq!(conns.len(), 1);
    assert_eq!(report.frames.total, 7);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 8 (byte offset 722): read failed: incomplete deflate stream; reading of this file stops here, after its first 7 frames",
            path.display()
        )]
    );
}

/// The byte offset of frame `n` (1-based) in a pcap made of `record` sized records.
fn pcap_record_offset(bytes: &[u8], n: usize) -> usize {
    let mut at = 24;
    for _ in 1..n {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    at
}

#[test]
fn absurd_captured_length_is_refused_without_allocating_it() {
    let mut bytes = ethernet_pcap();
    let at = pcap_record_offset(&bytes, 3);
    bytes[at + 8..at + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (report, conns, path) = run_lib("absurd-caplen.pcap", &bytes);
    assert_eq!(report.frames.total, 2);
    assert_eq!(conns.len(), 1);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 3 (byte offset {at}): record declares 4294967296 bytes, more than the 16 MiB any capture tool writes (corrupt length field); reading of this file stops here, after its first 2 frames",
            path.display()
        )]
    );
}

#[test]
fn absurd_snap_length_in_the_header_is_harmless() {
    for snaplen in [1, u32::MAX] {
        let bytes =
            Capture::new().segments(conversation("10.0.0.1:1", "10.0.0.2:2")).pcap(Pcap { snaplen, ..Pcap::default() });
        let (report, conns, _) = run_lib("absurd-snaplen.pcap", &bytes);
        assert_eq!((report.frames.tcp, conns.len()), (8, 1));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}

/// pcapng block offsets of `ethernet`-style single-interface files: SHB 28, IDB 20.
const FIRST_EPB: usize = 48;

fn one_interface_pcapng() -> Vec<u8> {
    Capture::new().segments(conversation("10.0.0.1:40000", "10.0.0.2:80")).pcapng(false)
}

fn epb_offset(bytes: &[u8], n: usize) -> usize {
    let mut at = FIRST_EPB;
    for _ in 1..n {
        at += u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    at
}

#[test]
fn lying_pcapng_block_length_is_refused_without_allocating_it() {
    let mut bytes = one_interface_pcapng();
    let at = epb_offset(&bytes, 4);
    bytes[at + 4..at + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let (report, _, path) = run_lib("lying-block.pcapng", &bytes);
    assert_eq!(report.frames.total, 3);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 4 (byte offset {at}): record declares 2147483632 bytes, more than the 16 MiB any capture tool writes (corrupt length field); reading of this file stops here, after its first 3 frames",
            path.display()
        )]
    );
}

#[test]
fn pcapng_block_lengths_that_disagree_are_named() {
    let mut bytes = one_interface_pcapng();
    let at = epb_offset(&bytes, 2);
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    bytes[at + len - 4..at + len].copy_from_slice(&(len as u32 + 4).to_le_bytes());
    let (report, _, path) = run_lib("disagree.pcapng", &bytes);
    assert_eq!(report.frames.total, 1);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 2 (byte offset {at}): block length fields disagree (leading {len}, trailing {}); reading of this file stops here, after its first 1 frames",
            path.display(),
            len + 4
        )]
    );
}

#[test]
fn captured_length_past_its_block_is_named() {
    let mut bytes = one_interface_pcapng();
    let at = epb_offset(&bytes, 2);
    bytes[at + 20..at + 24].copy_from_slice(&1000u32.to_le_bytes());
    let (report, _, path) = run_lib("caplen-past-block.pcapng", &bytes);
    assert_eq!(report.frames.total, 1);
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 2 (byte offset {at}): a length inside the record runs past the record's own {len} bytes (corrupt record); reading of this file stops here, after its first 1 frames",
            path.display()
        )]
    );
}

#[test]
fn packet_on_an_undescribed_interface_is_named() {
    let mut bytes = one_interface_pcapng();
    let at = epb_offset(&bytes, 5);
    bytes[at + 8..at + 12].copy_from_slice(&7u32.to_le_bytes());
    let (report, conns, path) = run_lib("no-interface.pcapng", &bytes);
    assert_eq!((report.frames.total, conns.len()), (4, 1));
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 5 (byte offset {at}): packet names interface 7 but this section describes 1; reading of this file stops here, after its first 4 frames",
            path.display()
        )]
    );
}

#[test]
fn timestamps_going_backwards_are_reported_once_and_keep_file_order() {
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let segs: Vec<Seg> = conversation("10.0.0.1:40000", "10.0.0.2:80")
        .into_iter()
        .zip([0, 1, 2, -5, 4, -3, 6, 7])
        .map(|(seg, ms)| seg.at_ns(START_NS + ms * 1_000_000))
        .collect();
    let bytes = Capture::new()
        .segments(segs)
        .segment(Seg::ack(c, s).seq(1102).ack_no(5102).at_ns(START_NS + 8_000_000))
        .pcap(Pcap::default());
    let (report, conns, path) = run_lib("backwards.pcap", &bytes);
    assert_eq!(conns.len(), 1);
    let frames: Vec<u64> = conns[0].segments.as_ref().unwrap().iter().map(|s| s.frame.0).collect();
    assert_eq!(frames, (1..=9).collect::<Vec<_>>());
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 4 (byte offset {}): timestamp goes back 0.007000000 before an earlier frame; 2 frames of this file go back in time (they keep their place in file order)",
            path.display(),
            pcap_record_offset(&bytes, 4)
        )]
    );
}

#[test]
fn standard_input_reads_like_a_file() {
    let path = fixtures().join("interfaces.pcapng");
    let bytes = std::fs::read(&path).unwrap();
    let from_file = tcpstate(&["analyze", "--jsonl", path.to_str().unwrap()], None);
    let from_stdin = tcpstate(&["analyze", "--jsonl", "-"], Some(&bytes));
    assert_eq!(from_stdin.status.code(), Some(0), "{}", text(&from_stdin.stderr));
    assert_eq!(text(&from_stdin.stdout).lines().count(), 3);
    assert_eq!(text(&from_stdin.stdout), text(&from_file.stdout));
}

#[test]
fn standard_input_compressed_and_empty() {
    let gz = std::fs::read(fixtures().join("ethernet.pcap.gz")).unwrap();
    let out = tcpstate(&["analyze", "--jsonl", "-"], Some(&gz));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let out = tcpstate(&["analyze", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "tcpstate: - (byte offset 0): empty file: no capture header\n");
}

#[test]
fn impossible_flags_are_reported_once_with_their_place() {
    let (c, s) = (addr("10.0.0.9:31337"), addr("10.0.0.2:22"));
    let bytes = Capture::new()
        .segment(Seg::ack(c, s).flags(crate::pcapwriter::SYN | crate::pcapwriter::FIN))
        .segment(Seg::ack(c, s).flags(0))
        .segments(conversation("10.0.0.1:40000", "10.0.0.2:80"))
        .pcap(Pcap::default());
    let (report, conns, path) = run_lib("impossible-flags.pcap", &bytes);
    assert_eq!(conns.len(), 2);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 1 (byte offset 24): TCP flags SYN,FIN from 10.0.0.9:31337 to 10.0.0.2:22 are impossible together (a scan or a crafted packet; 2 such frames in the capture)",
            path.display()
        )]
    );
}

#[test]
fn a_damaged_file_among_several_ends_alone() {
    let whole = std::fs::read(fixtures().join("rotated-2.pcapng")).unwrap();
    // Cut inside the last of its four packets.
    let cut = scratch("rotated-2-cut.pcapng", &whole[..whole.len() - 20]);
    let opts = Options::default();
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&[fixtures().join("rotated-1.pcap"), cut.clone()], &opts, &mut conns).unwrap();
    assert_eq!(report.frames.total, 7);
    assert_eq!(conns.len(), 1);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].starts_with(&format!("{}: frame 4 (byte offset ", cut.display())),
        "{:?}",
        report.warnings
    );
}

#[test]
fn zstd_window_larger_than_we_accept_is_refused_before_reserving_it() {
    // zstd magic, frame header descriptor 0, window descriptor 2^27 (128 MiB).
    let bytes = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88, 0, 0, 0, 0];
    let (code, _, stderr, path) = run_bin("huge-window.zst", &bytes);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "tcpstate: {} (byte offset 0): zstd: Specified window_size is too big; Requested: 134217728, Max: 33554432 (tcpstate accepts windows up to 32 MiB: decompress with `zstd -d` first)\n",
            path.display()
        )
    );
}

#[test]
fn pcapng_block_length_that_cannot_be_is_named() {
    let mut bytes = one_interface_pcapng();
    let at = epb_offset(&bytes, 3);
    bytes[at + 4..at + 8].copy_from_slice(&13u32.to_le_bytes());
    let (report, _, path) = run_lib("block-length-13.pcapng", &bytes);
    assert_eq!(report.frames.total, 2);
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 3 (byte offset {at}): block length 13 is invalid (must be a multiple of 4, at least 12); reading of this file stops here, after its first 2 frames",
            path.display()
        )]
    );
}

#[test]
fn json_frame_counters_add_up_with_each_skip_reason() {
    let mut bytes = std::fs::read(fixtures().join("fragments-snaplen.pcap")).unwrap();
    // Cut the last record short too: the warning travels in the document.
    bytes.truncate(bytes.len() - 10);
    let path = scratch("counters.pcap", &bytes);
    let out = tcpstate(&["analyze", "--json", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["frames"], serde_json::json!({"total": 11, "tcp": 8, "skipped": {"ip_fragment": 3}}));
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].as_str().unwrap().contains(": frame 12 (byte offset "));
}

#[test]
fn messages_about_merged_frames_name_their_own_file_and_number() {
    let (c, s) = (addr("10.0.0.9:31337"), addr("10.0.0.2:22"));
    let scan = Capture::new()
        .segment(Seg::ack(c, s).flags(crate::pcapwriter::SYN | crate::pcapwriter::FIN).at_ns(START_NS + 1_500_000))
        .pcap(Pcap::default());
    let scan = scratch("scan.pcap", &scan);
    let opts = Options::default();
    let mut conns: Vec<Connection> = Vec::new();
    let report = analyze(&[fixtures().join("ethernet.pcap"), scan.clone()], &opts, &mut conns).unwrap();
    assert_eq!(report.frames.total, 9);
    // Third in merged order, first of its own file.
    assert_eq!(
        report.warnings,
        [format!(
            "{}: frame 1 (byte offset 24): TCP flags SYN,FIN from 10.0.0.9:31337 to 10.0.0.2:22 are impossible together (a scan or a crafted packet; 1 such frames in the capture)",
            scan.display()
        )]
    );
}
