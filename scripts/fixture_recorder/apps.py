#!/usr/bin/env python3
"""Tiny client and server programs run inside the client/server namespaces.

The client opens a connection and sends one line naming a mode (plus
arguments); the server behaves according to that mode.  This way one server
serves every scenario, including many_interleaved's mix of endings.

    apps.py server --addr 10.77.0.2 --port 8080
    apps.py client --addr 10.77.0.2 --port 8080 --mode client_close [...]

The server prints "ready" once listening and runs until killed: sockets it
never closes (close_wait_never_closed) must outlive the capture.
"""
import argparse
import random
import socket
import struct
import sys
import threading
import time

# Long enough for the peer's delayed ACK (40-200 ms) to go out on its own, so
# that ACK and FIN travel in separate segments.
LINGER_BEFORE_CLOSE = 0.3
# Long enough for the client's unread second line to have arrived.
UNREAD_BEFORE_CLOSE = 0.1
kept_open = []  # sockets the server deliberately never closes


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf.decode().split()


def drain(sock):
    """Read until EOF (or RST); returns the bytes read."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def sleep_until(t):
    time.sleep(max(0.0, t - time.time()))


def abort(sock):
    """close() with SO_LINGER {on, 0 s}: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---- server side: one handler per mode -------------------------------------

def serve(conn):
    words = read_line(conn)
    mode = words[0] if words else ""
    if mode in ("client_close", "fin_ack_combined", "fastopen", "keepalive"):
        conn.sendall(b"ok\n")
        drain(conn)
        if mode in ("client_close", "keepalive"):
            time.sleep(LINGER_BEFORE_CLOSE)
        # fin_ack_combined: close at once, so our FIN carries the (delayed)
        # ACK of the client's FIN.
        conn.close()
    elif mode == "server_close":
        conn.sendall(b"ok\n")
        conn.close()
    elif mode == "simultaneous":
        sleep_until(float(words[1]))
        conn.close()
    elif mode == "abort_rst":
        conn.sendall(b"ok\n")
        drain(conn)
        conn.close()
    elif mode == "server_abort":
        abort(conn)
    elif mode == "half_close":
        drain(conn)  # the client's FIN has arrived: keep sending anyway
        for i in range(3):
            time.sleep(0.1)
            conn.sendall(b"chunk %d\n" % i)
        conn.close()
    elif mode == "close_wait":
        conn.sendall(b"ok\n")
        drain(conn)
        kept_open.append(conn)  # never closed: stays in CLOSE_WAIT
    elif mode == "unread_rst":
        # The client's second line arrives meanwhile and is never read: close()
        # with unread data makes the kernel send RST, not FIN (RFC 2525 2.17).
        time.sleep(UNREAD_BEFORE_CLOSE)
        conn.close()
    elif mode == "data_lost_before_fin":
        # The request was lost and its FIN came first: we read it once it is resent.
        drain(conn)
        conn.close()
    elif mode == "write_after_close":
        # The client has closed without waiting for a reply: the reply lands on
        # its orphaned FIN_WAIT_2, whose kernel answers with RST.
        time.sleep(LINGER_BEFORE_CLOSE)
        try:
            conn.sendall(b"late reply\n")
            time.sleep(LINGER_BEFORE_CLOSE)
        except OSError:
            pass
        conn.close()
    else:
        conn.close()


def run_server(args):
    fam = family_of(args.addr)
    lsock = socket.socket(fam, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.addr, args.port))
    if args.fastopen:
        lsock.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    lsock.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# ---- client side ------------------------------------------------------------

def connect(args, bind_port=0, user_timeout_ms=0):
    fam = family_of(args.addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    if bind_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", bind_port))
    if user_timeout_ms:
        # Bounds SYN retransmission (TCP_SYNCNT does not, on this kernel).
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_ms)
    s.connect((args.addr, args.port))
    return s


def client_session(args, mode, bind_port=0):
    """One connection ending the way `mode` says; returns nothing."""
    s = connect(args, bind_port)
    if mode == "simultaneous":
        at = time.time() + 0.2
        s.sendall(b"simultaneous %.6f\n" % at)
        sleep_until(at)
        s.close()
    elif mode in ("client_close", "fin_ack_combined", "close_wait"):
        s.sendall(mode.encode() + b"\n")
        s.recv(16)
        s.close()
    elif mode == "keepalive":
        # Idle for two and a half keepalive intervals: two probes, each answered.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.sendall(b"keepalive\n")
        s.recv(16)
        time.sleep(2.5)
        s.close()
    elif mode == "server_close":
        s.sendall(b"server_close\n")
        drain(s)
        time.sleep(LINGER_BEFORE_CLOSE)
        s.close()
    elif mode == "abort_rst":
        s.sendall(b"abort_rst\n")
        s.recv(16)
        time.sleep(0.05)
        abort(s)
    elif mode == "server_abort":
        s.sendall(b"server_abort\n")
        drain(s)
        s.close()
    elif mode == "unread_rst":
        s.sendall(b"unread_rst\n")
        time.sleep(0.02)  # a segment of its own, after the server read its line
        s.sendall(b"never read\n")
        drain(s)
        s.close()
    elif mode in ("write_after_close", "data_lost_before_fin"):
        s.sendall(mode.encode() + b"\n")
        s.close()
    elif mode == "half_close":
        s.sendall(b"half_close\n")
        s.shutdown(socket.SHUT_WR)
        drain(s)
        s.close()
    else:
        raise ValueError(mode)


def run_client(args):
    if args.mode == "refused":
        try:
            connect(args)
        except ConnectionRefusedError:
            return
        sys.exit("connection unexpectedly accepted")
    elif args.mode == "syn_unanswered":
        try:
            connect(args, user_timeout_ms=3000)
        except (TimeoutError, OSError):
            return
        sys.exit("connection unexpectedly established")
    elif args.mode == "port_reuse":
        # First incarnation: server closes first, so TIME_WAIT is on the
        # server and the client port is free again at once.
        client_session(args, "server_close", bind_port=args.bind_port)
        time.sleep(0.3)
        client_session(args, "client_close", bind_port=args.bind_port)
    elif args.mode == "fastopen":
        # RFC 7413: the first SYN asks for a cookie, the second carries it and the request.
        for _ in range(2):
            s = socket.socket(family_of(args.addr), socket.SOCK_STREAM)
            s.sendto(b"fastopen\n", socket.MSG_FASTOPEN, (args.addr, args.port))
            s.recv(16)
            s.close()
            time.sleep(0.3)
    elif args.mode == "many":
        rng = random.Random(args.seed)
        modes = ["client_close", "server_close", "fin_ack_combined",
                 "abort_rst", "server_abort", "half_close", "simultaneous"]
        threads = []
        for i in range(args.count):
            mode = rng.choice(modes)
            threads.append(threading.Thread(target=client_session, args=(args, mode)))
            threads[-1].start()
            time.sleep(rng.uniform(0.01, 0.04))  # staggered, overlapping starts
        for t in threads:
            t.join()
    else:
        client_session(args, args.mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--mode")
    ap.add_argument("--bind-port", type=int, default=0)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--fastopen", action="store_true", help="server: accept TCP Fast Open")
    args = ap.parse_args()
    run_server(args) if args.role == "server" else run_client(args)


if __name__ == "__main__":
    main()
