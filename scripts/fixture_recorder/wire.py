"""What the capture says that the tracepoint cannot: whether the segment that acknowledged an
endpoint's FIN also carried the peer's FIN.

The kernel traces FIN_WAIT1 -> FIN_WAIT2 -> CLOSE within microseconds both when one segment
carries the ACK of our FIN and the peer's FIN (the socket becomes a TIME_WAIT mini-socket) and
when an orphaned socket gets a bare ACK (it becomes a FIN_WAIT2 mini-socket at once). Polling
tells them apart only if it sees the mini-socket before the peer's FIN turns it to TIME_WAIT.
"""
import ipaddress
import struct

from forwarder import ACK, FIN, SYN, tcp_offsets



def _segments(path):
    """(src, dst, seq, ack, flags, payload_len) of each TCP segment in an Ethernet pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        seg = _tcp(frame)
        if seg:
            yield seg


def _tcp(frame):
    at = tcp_offsets(frame)
    if at is None:
        return None
    tcp, ip_payload, src, dst = at
    sport, dport, seq, ack = struct.unpack_from("!HHII", frame, tcp)
    data_off = (frame[tcp + 12] >> 4) * 4
    src, dst = ipaddress.ip_address(bytes(src)), ipaddress.ip_address(bytes(dst))
    return (_fmt(src, sport), _fmt(dst, dport), seq, ack, frame[tcp + 13], ip_payload - data_off)


def _fmt(addr, port):
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


def fin_acked_with_fin(path):
    """{(local, remote): bool} for each endpoint whose FIN the capture shows acknowledged:
    whether the peer's first segment acknowledging it also carried the peer's FIN. The
    first FIN of each 4-tuple direction counts (an incarnation's; port reuse starts over at
    the next SYN)."""
    fins, out = {}, {}
    for src, dst, seq, ack, flags, length in _segments(path):
        if flags & SYN:  # a new incarnation
            fins.pop((src, dst), None)
            out.pop((src, dst), None)
            continue
        if flags & FIN and (src, dst) not in fins:
            fins[(src, dst)] = (seq + length + 1) & 0xFFFFFFFF
        end = fins.get((dst, src))
        if end is not None and (dst, src) not in out and flags & ACK:
            if ((ack - end) & 0xFFFFFFFF) < 0x80000000:
                out[(dst, src)] = bool(flags & FIN)
    return out
