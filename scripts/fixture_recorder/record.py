#!/usr/bin/env python3
"""Record fixture pcaps plus the kernel's own state timeline (truth files).

Run through scripts/record-fixtures.sh (root).  Per scenario: fresh
namespaces, forwarder, server, tcpdump (client veth, optionally server veth),
tracepoint + timewait polling while the client runs, then a short settle.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import topology as topo
from kernel_trace import KernelTrace, realtime_offset_ns
from scenarios import BY_NAME, SCENARIOS
from sockpoll import TimewaitPoller
from truth import connections
from wire import fin_acked_with_fin

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_PORT = 8080


def spawn(ns, *cmd, **kw):
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], text=True, **kw)


def expect_line(proc, stream, text):
    """Block until the process prints a line containing text (its readiness)."""
    for line in stream:
        if text in line:
            return
    raise RuntimeError(f"{proc.args} exited before printing {text!r}")


def start_capture(ns, ifname, path):
    # -Z root: tcpdump would otherwise drop to a user that may not write here.
    # --immediate-mode: without it, frames still in the TPACKET_V3 ring block
    # when SIGINT arrives are never written (short captures came out empty).
    proc = spawn(ns, "tcpdump", "-i", ifname, "--immediate-mode", "-U", "-Z", "root",
                 "-w", path, "tcp", stderr=subprocess.PIPE)
    expect_line(proc, proc.stderr, "listening on")
    return proc


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(timeout=10)


def run(sc, out_dir, trace, delay_ms, rng):
    client_ip, server_ip = topo.ADDR[sc.family]
    tmp = tempfile.mkdtemp(prefix="tcpstate-rec-")
    procs, poller = [], None
    topo.setup()
    try:
        fwd = spawn(topo.NS_FWD, sys.executable, f"{HERE}/forwarder.py",
                    "--client-if", topo.FWD_CLIENT_IF, "--server-if", topo.FWD_SERVER_IF,
                    "--delay-ms", str(delay_ms), "--rules", json.dumps(sc.rules),
                    stdout=subprocess.PIPE)
        procs.append(fwd)
        expect_line(fwd, fwd.stdout, "ready")
        # Anchors whose /proc/PID/net shows each namespace's socket table.
        anchors = {ns: spawn(ns, "sleep", "3600") for ns in (topo.NS_CLIENT, topo.NS_SERVER)}
        procs += anchors.values()
        if sc.fastopen:
            topo.ns_sh(topo.NS_SERVER, "sysctl", "-qw", "net.ipv4.tcp_fastopen=3")
        if sc.listener:
            server = spawn(topo.NS_SERVER, sys.executable, f"{HERE}/apps.py", "server",
                           "--addr", server_ip, "--port", str(SERVER_PORT),
                           *(["--fastopen"] if sc.fastopen else []),
                           stdout=subprocess.PIPE)
            procs.append(server)
            expect_line(server, server.stdout, "ready")
        vantages = {"client": (topo.NS_CLIENT, topo.CLIENT_IF, f"{tmp}/client.pcap")}
        if sc.server_side:
            vantages["server"] = (topo.NS_SERVER, topo.SERVER_IF, f"{tmp}/server.pcap")
        captures = [start_capture(*v) for v in vantages.values()]
        procs += captures

        poller = TimewaitPoller({ns: p.pid for ns, p in anchors.items()})
        offset_before = realtime_offset_ns()
        trace.start()
        poller.start()
        client_cmd = [sys.executable, f"{HERE}/apps.py", "client", "--addr", server_ip,
                      "--port", str(SERVER_PORT), "--mode", sc.mode,
                      "--seed", str(rng.randrange(2**32)),
                      "--bind-port", str(rng.randint(20000, 30000))]
        client = spawn(topo.NS_CLIENT, *client_cmd)
        procs.append(client)
        if client.wait(timeout=30) != 0:
            raise RuntimeError("client program failed")
        time.sleep(sc.settle)
        for cap in captures:
            stop(cap, signal.SIGINT)  # SIGINT: tcpdump flushes and closes the file
        events = trace.stop()
        offset = (offset_before + realtime_offset_ns()) // 2
    finally:
        if poller:
            poller.stop()  # before its anchor processes go away
        for p in reversed(procs):
            stop(p)
        topo.teardown()

    for ev in events:
        ev["ts_ns"] = ev["mono_ns"] + offset
    conns = connections(events, poller.history, topo.NS_CLIENT, topo.NS_SERVER,
                        {client_ip, server_ip}, sc.listener,
                        fin_acked_with_fin(vantages["client"][2]))
    if len(conns) != sc.expect:
        raise RuntimeError(f"expected {sc.expect} connections, truth has {len(conns)}")
    for vantage, (_, _, pcap) in vantages.items():
        name = sc.name if vantage == "client" else f"{sc.name}.server-side"
        shutil.move(pcap, f"{out_dir}/{name}.pcap")
        truth = {"scenario": sc.name, "description": sc.description, "vantage": vantage,
                 "one_way_delay_ms": delay_ms, "kernel": os.uname().release,
                 "connections": conns}
        with open(f"{out_dir}/{name}.truth.json", "w") as f:
            json.dump(truth, f, indent=1)
            f.write("\n")
    shutil.rmtree(tmp)
    return conns


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "fixtures"))
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--seed", type=int, help="fix the random choices (ports, mixes)")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    ap.add_argument("scenarios", nargs="*", help="default: all")
    args = ap.parse_args()
    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:24} {sc.description}")
        return 0
    unknown = [n for n in args.scenarios if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)} (see --list)")
    chosen = [BY_NAME[n] for n in args.scenarios] or SCENARIOS
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    trace = KernelTrace()
    failed = []
    # Namespaces created from now on get a small TCP hash table of their own;
    # with the shared one (262144 buckets here) one read of /proc/PID/net/tcp
    # walks it all and takes ~5 ms, too slow to poll.
    old_ehash = topo.set_child_ehash_entries(1024)
    try:
        for sc in chosen:
            try:
                conns = run(sc, args.out, trace, args.delay_ms, rng)
            except Exception as e:  # keep recording the others
                print(f"FAILED {sc.name}: {e}", file=sys.stderr)
                failed.append(sc.name)
                continue
            for c in conns:
                print(f"{sc.name}: {c['client']} {' '.join(c['client_states'])} | "
                      f"{' '.join(c['server_states'])}")
    finally:
        trace.remove()
        topo.set_child_ehash_entries(old_ehash)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
