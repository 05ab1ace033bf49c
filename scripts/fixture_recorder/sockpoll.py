"""Poll the timewait mini-sockets of a namespace's socket table.

The tracepoint cannot see them: entering TIME_WAIT (or FIN_WAIT_2 after the
application closed) replaces the socket by a mini-socket and is traced as
FIN_WAIT2->CLOSE / CLOSING->CLOSE.  /proc/PID/net/tcp{,6} of any process in
the namespace lists them, with timer field `tr` 3 and the substate
(FIN_WAIT2 or TIME_WAIT) as state.  A thread reads the tables every couple of
milliseconds and keeps, per (namespace, local, remote), each change of the
mini-socket's state, None meaning it went away.
"""
import socket
import threading
import time

PROC_STATES = {0x05: "FIN_WAIT2", 0x06: "TIME_WAIT"}
TIMER_TIMEWAIT = 3


def _addr(hexaddr, hexport):
    raw = bytes.fromhex(hexaddr)
    # /proc prints each 32-bit word in host (little-endian) order.
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    port = int(hexport, 16)
    if len(raw) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, raw)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, raw)}]:{port}"


def read_timewait(pid):
    """{(local, remote): substate} of the timewait sockets in pid's namespace."""
    found = {}
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                fields = line.split()
                if int(fields[5].split(":")[0], 16) != TIMER_TIMEWAIT:
                    continue
                local = _addr(*fields[1].split(":"))
                remote = _addr(*fields[2].split(":"))
                found[(local, remote)] = PROC_STATES.get(int(fields[3], 16), fields[3])
    return found


class TimewaitPoller:
    def __init__(self, pids, interval=0.002):
        self.pids = pids  # {namespace label: pid of a process inside it}
        self.interval = interval
        self.history = {}  # (label, local, remote) -> [(realtime_ns, state|None)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self):
        current = {}
        while not self._stop.is_set():
            seen = {}
            for label, pid in self.pids.items():
                for key, state in read_timewait(pid).items():
                    seen[(label, *key)] = state
            now = time.time_ns()
            for key in seen.keys() | current.keys():
                if seen.get(key) != current.get(key):
                    self.history.setdefault(key, []).append((now, seen.get(key)))
            current = seen
            time.sleep(self.interval)
