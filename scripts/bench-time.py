#!/usr/bin/env python3
"""Times a command for scripts/bench.sh: runs it RUNS times, stdout to /dev/null, and prints
"BEST_SECONDS PEAK_RSS_KIB" (the fastest run's wall time, the largest peak RSS of all runs).

    scripts/bench-time.py [--copies K] RUNS COMMAND [ARG...]

With --copies K, each run starts K copies of the command at once and lasts until the last one
ends: how much work the machine does in parallel when nothing is shared, the ceiling for what
--threads can gain (see README "Performance").

Wall time comes from time.perf_counter around the run: /usr/bin/time's %e has only 10 ms
resolution, too coarse for the small corpora. Peak RSS comes from /usr/bin/time's %M (the
kernel's maxrss of the command). A command that fails stops the measurement: exit status 1, the
tail of its stderr on ours, since a time for a run that did not finish would be a lie.
"""

import subprocess
import sys
import tempfile
import time


def main() -> int:
    args = sys.argv[1:]
    copies = 1
    if args[:1] == ["--copies"] and len(args) > 1:
        copies, args = int(args[1]), args[2:]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    runs, cmd = int(args[0]), args[1:]
    best, peak = None, 0
    rss = [tempfile.NamedTemporaryFile(mode="r", prefix="tcpstate-bench-", suffix=".rss") for _ in range(copies)]
    for _ in range(runs):
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                ["/usr/bin/time", "-f", "%M", "-o", r.name, *cmd],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for r in rss
        ]
        # stderr is read to its end before waiting, so a chatty command cannot fill the pipe.
        errs = [p.stderr.read() for p in procs]
        codes = [p.wait() for p in procs]
        secs = time.perf_counter() - start
        for code, err in zip(codes, errs):
            if code != 0:
                tail = err.decode(errors="replace").strip().splitlines()[-5:]
                print(f"{' '.join(cmd)}: exit status {code}", *tail, sep="\n  ", file=sys.stderr)
                return 1
        for r in rss:
            r.seek(0)
            # The last word: /usr/bin/time may write a status line before the format's output.
            peak = max(peak, int(r.read().split()[-1]))
        best = secs if best is None else min(best, secs)
    print(f"{best:.6f} {peak}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
