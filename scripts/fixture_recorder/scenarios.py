"""The recorded scenarios.

mode:        client mode of apps.py (the server follows the client's lead)
rules:       forwarder drop rules (see forwarder.py)
server_side: also capture on the server's veth (NAME.server-side.pcap)
settle:      seconds to keep capturing after the client program exits
expect:      number of connections the truth must have
fastopen:    the server accepts TCP Fast Open (net.ipv4.tcp_fastopen=3 in its namespace)
"""
from dataclasses import dataclass, field


@dataclass
class Scenario:
    name: str
    description: str
    mode: str
    family: int = 4
    listener: bool = True
    rules: list = field(default_factory=list)
    server_side: bool = False
    settle: float = 0.7
    expect: int = 1
    fastopen: bool = False


DROP_ALL_SYNS = {"dir": "c2s", "kind": "syn", "count": 0}
DROP_FINAL_ACK = {"dir": "c2s", "kind": "pure_ack", "after": "s2c_fin", "count": 1}

SCENARIOS = [
    Scenario("client_close",
             "client sends a request, reads the reply, closes first; server closes "
             "300 ms after EOF, so its ACK and FIN are separate segments",
             "client_close"),
    Scenario("server_close",
             "server replies and closes at once; client reads EOF and closes 300 ms "
             "later; TIME_WAIT is on the server", "server_close"),
    Scenario("simultaneous_close",
             "both ends close() at the same instant; the FINs cross in the forwarder's "
             "delay: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both", "simultaneous"),
    Scenario("fin_ack_combined",
             "client closes first; server closes as soon as it reads EOF, so its FIN "
             "carries the ACK of the client's FIN: client FIN_WAIT_1 -> TIME_WAIT",
             "fin_ack_combined"),
    Scenario("refused", "SYN to a port with no listener is answered by RST",
             "refused", listener=False, settle=0.3),
    Scenario("abort_rst",
             "client closes with SO_LINGER 0 mid-connection: RST instead of FIN, "
             "both ends go straight to CLOSED", "abort_rst"),
    Scenario("syn_unanswered",
             "forwarder drops every SYN; client gives up through TCP_USER_TIMEOUT "
             "3 s after retransmitting the SYN", "syn_unanswered",
             rules=[DROP_ALL_SYNS], settle=0.3),
    Scenario("half_close",
             "client shutdown(SHUT_WR) right after its request; server sends three "
             "chunks after the client's FIN, then closes", "half_close"),
    Scenario("close_wait_never_closed",
             "client closes; server reads EOF but never closes: ends with server in "
             "CLOSE_WAIT and client (orphaned) in FIN_WAIT_2", "close_wait"),
    Scenario("lost_final_ack",
             "as client_close, but the forwarder drops the client's ACK of the "
             "server's FIN once; server retransmits its FIN into the client's "
             "TIME_WAIT and the client ACKs again", "client_close",
             rules=[DROP_FINAL_ACK], server_side=True, settle=1.5),
    Scenario("port_reuse",
             "two incarnations on one 4-tuple: server closes first (TIME_WAIT on "
             "the server), then the client binds the same port again and the new "
             "SYN recycles the server's TIME_WAIT", "port_reuse", expect=2),
    Scenario("ipv6", "client_close over IPv6", "client_close", family=6),
    Scenario("many_interleaved",
             "24 overlapping connections with mixed endings: client or server "
             "closes first, combined FIN+ACK, RST from either side, half-close, "
             "simultaneous close", "many", settle=1.0, expect=24),
    Scenario("syn_ack_lost",
             "the first SYN-ACK is dropped; SYN and SYN-ACK are retransmitted "
             "after 1 s", "client_close",
             rules=[{"dir": "s2c", "kind": "synack", "count": 1}], server_side=True),
    Scenario("fin_lost",
             "as client_close, but the client's first FIN is dropped and "
             "retransmitted", "client_close",
             rules=[{"dir": "c2s", "kind": "fin", "count": 1}], server_side=True,
             settle=1.5),
    Scenario("unread_rst",
             "server closes with a line of the client's unread: the kernel sends "
             "RST instead of FIN, both ends go from ESTABLISHED to CLOSED",
             "unread_rst"),
    Scenario("write_after_close",
             "client sends a request and closes at once; the server's reply 300 ms "
             "later lands on the client's orphaned FIN_WAIT_2, which answers RST: "
             "server CLOSE_WAIT -> CLOSED", "write_after_close", settle=1.0),
    Scenario("data_lost_before_fin",
             "client sends its request and closes at once; the forwarder drops the "
             "request, so the FIN arrives first, past a gap: the server enters "
             "CLOSE_WAIT only when the resent request fills it", "data_lost_before_fin",
             rules=[{"dir": "c2s", "kind": "data", "count": 1}], server_side=True,
             settle=1.5),
    Scenario("keepalive",
             "as client_close, but the client idles 2.5 s with keepalives every second "
             "first: each probe (one byte below SND.NXT, no data) is answered by an ACK, "
             "and no state changes", "keepalive"),
    Scenario("fastopen",
             "TCP Fast Open (RFC 7413), as client_close twice: the first SYN asks for a "
             "cookie, the second carries it and the request; the server's SYN,ACK "
             "acknowledges the data", "fastopen", expect=2, fastopen=True, settle=1.0),
]
BY_NAME = {s.name: s for s in SCENARIOS}
