"""Kernel TCP state transitions from the sock/inet_sock_set_state tracepoint.

Two private tracefs instances record the same event: with the `fields` option
one shows `skaddr` (the socket's kernel address, the only stable identity: a
connect's first event has source port 0), but prints the IPv6 address arrays
as <INVALID-SIZE>; the other uses the event's own format, which has the
addresses but no skaddr.  Both see the same events, which are paired up.

The trace clock is CLOCK_MONOTONIC; `to_realtime` shifts it to the Unix epoch
that tcpdump timestamps use.
"""
import os
import re
import subprocess
import time

TRACEFS = "/sys/kernel/tracing"
INSTANCES = ("tcpstate-rec", "tcpstate-rec-addr")
EVENT = "events/sock/inet_sock_set_state"
STATE_NAMES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
               5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT",
               9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
LINE = re.compile(r"\s(\d+)\.(\d+): inet_sock_set_state: (.*)$")


def _write(path, value):
    with open(path, "w") as f:
        f.write(value)


def realtime_offset_ns():
    """CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few samples."""
    best = None
    for _ in range(20):
        m1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        r = time.clock_gettime_ns(time.CLOCK_REALTIME)
        m2 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if best is None or m2 - m1 < best[0]:
            best = (m2 - m1, r - (m1 + m2) // 2)
    return best[1]


class KernelTrace:
    def __init__(self):
        if not os.path.exists(os.path.join(TRACEFS, "instances")):
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=True)
        self.dirs = [os.path.join(TRACEFS, "instances", name) for name in INSTANCES]
        self.remove()
        for d in self.dirs:
            os.mkdir(d)
            _write(f"{d}/tracing_on", "0")
            _write(f"{d}/trace_clock", "mono")
            _write(f"{d}/buffer_size_kb", "4096")
            _write(f"{d}/{EVENT}/filter", "protocol == 6")
            _write(f"{d}/{EVENT}/enable", "1")
        _write(f"{self.dirs[0]}/options/fields", "1")

    def start(self):
        for d in self.dirs:
            _write(f"{d}/trace", "")  # clear
            _write(f"{d}/tracing_on", "1")

    def stop(self):
        """Stop recording; return the events as dicts, oldest first."""
        for d in self.dirs:
            _write(f"{d}/tracing_on", "0")
        with_skaddr, with_addrs = (self._read(d) for d in self.dirs)
        # Each instance merges its per-CPU buffers by timestamp, so events of
        # two CPUs a few us apart can come out in different orders: pair them
        # by what they say, first come first served, not by position.
        by_key = {}
        for b in with_addrs:
            key = (b["family"] == "AF_INET6", int(b["sport"]), int(b["dport"]),
                   b["oldstate"], b["newstate"])
            by_key.setdefault(key, []).append(b)
        events = []
        for a in with_skaddr:
            ev = {
                "mono_ns": a["mono_ns"],
                "skaddr": a["skaddr"],
                "family": 6 if int(a["family"], 0) == 10 else 4,
                "sport": int(a["sport"], 0),
                "dport": int(a["dport"], 0),
                "old": STATE_NAMES[int(a["oldstate"], 0)],
                "new": STATE_NAMES[int(a["newstate"], 0)],
            }
            key = (ev["family"] == 6, ev["sport"], ev["dport"],
                   "TCP_" + ev["old"], "TCP_" + ev["new"])
            twins = by_key.get(key)
            if not twins or abs(twins[0]["mono_ns"] - a["mono_ns"]) > 1_000_000:
                raise RuntimeError(f"no matching event in the second trace instance: {a}")
            b = twins.pop(0)
            v6 = ev["family"] == 6
            ev["saddr"] = b["saddrv6"] if v6 else b["saddr"]
            ev["daddr"] = b["daddrv6"] if v6 else b["daddr"]
            events.append(ev)
        return events

    @staticmethod
    def _read(d):
        out = []
        with open(f"{d}/trace") as f:
            for line in f:
                m = LINE.search(line)
                if not m:
                    continue
                # "key=value" pairs; the fields format adds " (decimal)" after
                # each value, which the \S+ match leaves out.
                rec = dict(re.findall(r"(\w+)=(\S+)", m.group(3)))
                rec["mono_ns"] = int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0"))
                out.append(rec)
        return out

    def remove(self):
        for d in self.dirs:
            if os.path.isdir(d):
                _write(f"{d}/tracing_on", "0")
                _write(f"{d}/{EVENT}/enable", "0")
                os.rmdir(d)
