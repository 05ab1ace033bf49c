#!/usr/bin/env python3
"""L2 forwarder between two interfaces with a fixed one-way delay and drop rules.

Runs inside the `fwd` namespace (the kernel here has no sch_netem).  Frames
read on one interface are sent out of the other `--delay-ms` later, in order.
Rules (JSON list) drop chosen TCP segments, e.g.
    [{"dir": "c2s", "kind": "pure_ack", "after": "s2c_fin", "count": 1}]
  dir:   c2s (arrived on the client-side interface) or s2c
  kind:  syn | synack | fin | pure_ack | data (payload, no SYN/FIN/RST)
  after: optional "s2c_fin"/"c2s_fin": the rule is armed only once a FIN was
         forwarded in that direction
  count: how many matching frames to drop (0 = all)
Each drop is reported on stderr.
"""
import argparse
import heapq
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # our own transmissions come back on AF_PACKET: skip them

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def tcp_offsets(frame):
    """(TCP header offset, IP payload length, source and destination address bytes) of a
    TCP segment in an Ethernet frame, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 6:
            return None
        total = struct.unpack_from("!H", frame, 16)[0]
        return 14 + ihl, total - ihl, frame[26:30], frame[30:34]
    if ethertype == 0x86DD:
        if frame[20] != 6:  # no extension headers in our traffic
            return None
        return 54, struct.unpack_from("!H", frame, 18)[0], frame[22:38], frame[38:54]
    return None


def tcp_info(frame):
    """(flags, payload_len) of a TCP segment in an Ethernet frame, else None."""
    at = tcp_offsets(frame)
    if at is None:
        return None
    tcp_off, ip_payload, _, _ = at
    data_off = (frame[tcp_off + 12] >> 4) * 4
    return frame[tcp_off + 13], ip_payload - data_off


def kind_matches(kind, flags, payload):
    if kind == "syn":
        return flags & SYN and not flags & ACK
    if kind == "synack":
        return flags & SYN and flags & ACK
    if kind == "fin":
        return bool(flags & FIN)
    if kind == "pure_ack":
        return flags & (SYN | FIN | RST) == 0 and flags & ACK and payload == 0
    if kind == "data":
        return flags & (SYN | FIN | RST) == 0 and payload > 0
    raise ValueError(kind)


class Dropper:
    def __init__(self, rules):
        self.rules = [dict(r, dropped=0) for r in rules]
        self.fin_seen = set()

    def should_drop(self, direction, frame):
        info = tcp_info(frame)
        if info is None:
            return False
        flags, payload = info
        for r in self.rules:
            if r["dir"] != direction or not kind_matches(r["kind"], flags, payload):
                continue
            if r.get("after") and r["after"] not in self.fin_seen:
                continue
            if r.get("count", 1) and r["dropped"] >= r.get("count", 1):
                continue
            r["dropped"] += 1
            print(f"forwarder: dropped {direction} {r['kind']} flags=0x{flags:02x}",
                  file=sys.stderr, flush=True)
            return True
        if flags & FIN:
            self.fin_seen.add(direction + "_fin")
        return False


def open_raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-if", required=True)
    ap.add_argument("--server-if", required=True)
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--rules", default="[]")
    args = ap.parse_args()

    client, server = open_raw(args.client_if), open_raw(args.server_if)
    route = {client: (server, "c2s"), server: (client, "s2c")}
    dropper = Dropper(json.loads(args.rules))
    delay = args.delay_ms / 1000
    pending = []  # heap of (due, seq, out_socket, frame); seq keeps FIFO order
    seq = 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        readable, _, _ = select.select([client, server], [], [], timeout)
        for s in readable:
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            out, direction = route[s]
            if dropper.should_drop(direction, frame):
                continue
            seq += 1
            heapq.heappush(pending, (time.monotonic() + delay, seq, out, frame))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, out, frame = heapq.heappop(pending)
            out.send(frame)


if __name__ == "__main__":
    main()
