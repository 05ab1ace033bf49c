#!/usr/bin/env python3
"""Times a command for scripts/bench.sh: runs it RUNS times, stdout to /dev/null, and prints
"BEST_SECONDS PEAK_RSS_KIB" (the fastest run's wall time, the largest peak RSS of all runs).

    scripts/bench-time.py RUNS COMMAND [ARG...]

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
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    runs, cmd = int(sys.argv[1]), sys.argv[2:]
    best, peak = None, 0
    with tempfile.NamedTemporaryFile(mode="r", prefix="tcpstate-bench-", suffix=".rss") as rss:
        for _ in range(runs):
            start = time.perf_counter()
            run = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            secs = time.perf_counter() - start
            if run.returncode != 0:
                tail = run.stderr.decode(errors="replace").strip().splitlines()[-5:]
                print(f"{' '.join(cmd)}: exit status {run.returncode}", *tail, sep="\n  ", file=sys.stderr)
                return 1
            rss.seek(0)
            # The last word: /usr/bin/time may write a status line before the format's output.
            peak = max(peak, int(rss.read().split()[-1]))
            best = secs if best is None else min(best, secs)
    print(f"{best:.6f} {peak}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
