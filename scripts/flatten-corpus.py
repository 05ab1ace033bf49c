#!/usr/bin/env python3
"""Copies a benchmark corpus (../shared/bench/gen_corpus.py, classic pcap) without the packets of
its never-closed connections past the first KEEP, so that it holds no more connections open at
once than a smaller corpus does.

    scripts/flatten-corpus.py --manifest CORPUS.csv --keep KEEP CORPUS.pcap OUT.pcap

Why: the generator's never-closed connections (5 %) stay open to the end of the capture, so a
corpus of 10x the connections ends with 10x the connections open, and its memory grows for that
reason alone. scripts/bench.sh --growth passes as KEEP the never-closed count of the corpus it
compares with (6,467 in large), so a memory difference left between the two is a leak.

Kept are the first KEEP never-closed connections in stream order (the earliest SYNs); every
other connection is copied whole. The packets dropped are checked against the manifest's packet
counts. Streams in chunks and writes runs of kept records at once: ~36 M packets take a few
minutes, memory stays small.
"""

import argparse
import csv
import ipaddress
import struct
import sys

CHUNK = 1 << 24
ETHERTYPE_IPV4 = b"\x08\x00"
ETHERTYPE_IPV6 = b"\x86\xdd"


def tuple_bytes(ip_a: str, port_a: int, ip_b: str, port_b: int) -> bytes:
    """The bytes a frame from a to b carries from the IP source address to the TCP destination
    port, when IP has no options or extension headers (never, in the corpus)."""
    a, b = ipaddress.ip_address(ip_a).packed, ipaddress.ip_address(ip_b).packed
    return a + b + struct.pack(">HH", port_a, port_b)


def dropped_tuples(manifest: str, keep: int) -> tuple[set, int, int]:
    """Both directions' tuple bytes of every never-closed connection after the first `keep`,
    with how many connections and packets they are."""
    with open(manifest, newline="") as f:
        rows = csv.DictReader(f)
        need = {"stream", "kind", "client", "client_port", "server", "server_port", "packets"}
        if not need <= set(rows.fieldnames or ()):
            sys.exit(f"{manifest}: expected the columns {sorted(need)}, found {rows.fieldnames}")
        never_closed = [row for row in rows if row["kind"] == "never_closed"]
    if len(never_closed) < keep:
        sys.exit(f"{manifest}: only {len(never_closed)} never-closed connections, fewer than the {keep} to keep")
    never_closed.sort(key=lambda row: int(row["stream"]))
    drop, packets = set(), 0
    for row in never_closed[keep:]:
        c, cp, s, sp = row["client"], int(row["client_port"]), row["server"], int(row["server_port"])
        drop.add(tuple_bytes(c, cp, s, sp))
        drop.add(tuple_bytes(s, sp, c, cp))
        packets += int(row["packets"])
    return drop, len(never_closed) - keep, packets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True, help="the corpus's --manifest CSV")
    ap.add_argument("--keep", type=int, required=True, help="never-closed connections to keep")
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    drop, drop_conns, drop_packets = dropped_tuples(args.manifest, args.keep)

    with open(args.input, "rb") as src, open(args.output, "wb") as out:
        header = src.read(24)
        magic = header[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            sys.exit(f"{args.input}: not a classic pcap file (pcapng corpora are not supported)")
        (linktype,) = struct.unpack_from(endian + "I", header, 20)
        if linktype != 1:
            sys.exit(f"{args.input}: link type {linktype}, expected 1 (Ethernet) as gen_corpus.py writes")
        out.write(header)
        record = struct.Struct(endian + "8xI4x")  # the captured length of a record header
        total = dropped = 0
        buf = b""
        while True:
            more = src.read(CHUNK)
            buf = buf + more if buf else more
            pos = run = 0
            while pos + 16 <= len(buf):
                (caplen,) = record.unpack_from(buf, pos)
                end = pos + 16 + caplen
                if end > len(buf):
                    break
                eth = pos + 16
                ethertype = buf[eth + 12 : eth + 14]
                if ethertype == ETHERTYPE_IPV4:
                    key = buf[eth + 26 : eth + 38]
                elif ethertype == ETHERTYPE_IPV6:
                    key = buf[eth + 22 : eth + 58]
                else:
                    key = None
                total += 1
                if key in drop:
                    dropped += 1
                    out.write(buf[run:pos])
                    run = end
                pos = end
            out.write(buf[run:pos])
            buf = buf[pos:]
            if not more:
                break
        if buf:
            sys.exit(f"{args.input}: {len(buf)} bytes of a truncated record at the end")

    if dropped != drop_packets:
        sys.exit(f"dropped {dropped} packets, but the manifest counts {drop_packets} for those connections")
    print(
        f"{args.output}: {total - dropped} of {total} packets, without {drop_conns} never-closed"
        f" connections ({args.keep} kept)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
