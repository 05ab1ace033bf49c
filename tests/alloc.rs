//! The per-packet path allocates nothing (issue "Performance"): a connection's memory grows with
//! its state changes, never with its segments. Two captures of the same connections differ only in
//! how many data segments each carries in ESTABLISHED; both must cost the same allocations.
//!
//! A counting allocator wraps the system one for the whole test binary. It counts only on a
//! thread that asked for it, so the tests running beside this one neither disturb the count nor
//! pay more than a thread-local read per allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::path::Path;

use tcpstate::flow::Sink;
use tcpstate::timeline::Connection;
use tcpstate::{analyze_reader, Options};

use crate::pcapwriter::{addr, Capture, Pcap, Seg};

struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

thread_local! {
    /// Allocations (and reallocations) on this thread since counting began; `None`: not counting.
    /// A const-initialized `Cell` of a `Copy` type needs neither lazy setup nor a destructor, so
    /// the allocator can read it without allocating or recursing.
    static ALLOCATIONS: Cell<Option<u64>> = const { Cell::new(None) };
}

fn count() {
    // `try_with` fails only while the thread's locals are torn down: nothing to count then.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get().map(|n| n + 1)));
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only a thread-local
// `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }
}

/// Allocations `f` makes on the calling thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(Some(0)));
    f();
    ALLOCATIONS.with(|n| n.replace(None)).unwrap_or(0)
}

/// Counts the connections without keeping them: the sink must not be what allocates.
struct CountingSink(usize);

impl Sink for CountingSink {
    fn connection(&mut self, _conn: Connection) {
        self.0 += 1;
    }
}

const CONNECTIONS: u16 = 50;

/// `CONNECTIONS` connections, all open at once: every handshake, then `rounds` rounds in which
/// each connection carries one 100-byte segment (client and server in turn, each acknowledging
/// the other), then every close (client FIN, server FIN,ACK, client ACK). Only `rounds` differs
/// between captures, so the flow table holds the same connections at every stage.
fn capture(rounds: usize) -> Vec<u8> {
    let s = addr("192.0.2.2:80");
    let clients: Vec<_> = (0..CONNECTIONS).map(|i| addr(&format!("192.0.2.1:{}", 40000 + i))).collect();
    // Next sequence number of [client, server], per connection.
    let mut next = vec![[1000u32, 5000u32]; clients.len()];
    let mut cap = Capture::new();
    for (&c, [cs, ss]) in clients.iter().zip(&mut next) {
        cap = cap
            .segment(Seg::syn(c, s).seq(*cs))
            .segment(Seg::syn_ack(s, c).seq(*ss).ack_no(*cs + 1))
            .segment(Seg::ack(c, s).seq(*cs + 1).ack_no(*ss + 1));
        (*cs, *ss) = (*cs + 1, *ss + 1);
    }
    for round in 0..rounds {
        for (&c, [cs, ss]) in clients.iter().zip(&mut next) {
            if round % 2 == 0 {
                cap = cap.segment(Seg::ack(c, s).seq(*cs).ack_no(*ss).payload(100));
                *cs += 100;
            } else {
                cap = cap.segment(Seg::ack(s, c).seq(*ss).ack_no(*cs).payload(100));
                *ss += 100;
            }
        }
    }
    for (&c, &[cs, ss]) in clients.iter().zip(&next) {
        cap = cap
            .segment(Seg::fin(c, s).seq(cs).ack_no(ss))
            .segment(Seg::fin(s, c).seq(ss).ack_no(cs + 1))
            .segment(Seg::ack(c, s).seq(cs + 1).ack_no(ss + 1));
    }
    cap.pcap(Pcap::default())
}

/// (allocations, connections delivered) of a single-threaded analysis of `bytes`.
fn analyze_counting(bytes: Vec<u8>) -> (u64, usize) {
    let opts = Options { threads: 1, ..Options::default() };
    let reader: Box<dyn std::io::Read + Send> = Box::new(Cursor::new(bytes));
    let mut sink = CountingSink(0);
    let n = allocations(|| {
        analyze_reader(Path::new("alloc.pcap"), reader, &opts, &mut sink).expect("the crafted capture reads");
    });
    (n, sink.0)
}

#[test]
fn established_data_segments_do_not_allocate() {
    let (few_rounds, many_rounds) = (16, 1000);
    let (few, few_conns) = analyze_counting(capture(few_rounds));
    let (many, many_conns) = analyze_counting(capture(many_rounds));
    let n = usize::from(CONNECTIONS);
    assert_eq!((few_conns, many_conns), (n, n));
    let extra_segments = (many_rounds - few_rounds) * n;
    // A per-connection constant is tolerated (a buffer sized once by how far a connection got);
    // one allocation per segment, or per doubling of a per-connection list, is not.
    let slack = u64::from(CONNECTIONS) + 16;
    assert!(
        many <= few + slack,
        "{many} allocations with {many_rounds} data segments per connection, {few} with {few_rounds}: \
         {} more for {extra_segments} more segments (at most {slack} allowed)",
        many.saturating_sub(few)
    );
}
