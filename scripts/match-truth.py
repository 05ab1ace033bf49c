#!/usr/bin/env python3
"""Compare `tcpstate analyze --json` against recorded truth files.

    scripts/match-truth.py DIR [--tcpstate PATH]

For every DIR/NAME.pcap with a DIR/NAME.truth.json, runs
`PATH analyze --json NAME.pcap` and compares each endpoint's state sequence
(consecutive duplicates dropped) with the truth's client_states /
server_states.  A trailing TIME_WAIT -> CLOSED caused by the 2MSL timer is
ignored: the recordings never wait for it.  Truth connections are matched to
the tool's by (client, server) address strings, in order, so two
incarnations of one 4-tuple pair up first with first.  Prints one line per
differing endpoint and a final `match: K/N endpoints (P%)`; exits 0.
"""
import argparse
import glob
import json
import os
import subprocess
import sys


def dedup(states):
    out = []
    for s in states:
        if not out or out[-1] != s:
            out.append(s)
    return out


def tool_states(endpoint):
    timeline = endpoint.get("timeline", [])
    states = dedup([t["state"] for t in timeline])
    last = timeline[-1] if timeline else {}
    if (len(states) >= 2 and states[-2:] == ["TIME_WAIT", "CLOSED"]
            and "msl" in str(last.get("cause", "")).lower()):
        states.pop()
    return states


def analyze(tool, pcap):
    """The tool's connections, or an error string."""
    try:
        run = subprocess.run([tool, "analyze", "--json", pcap], capture_output=True,
                             text=True, timeout=120)
    except OSError as e:
        return f"cannot run {tool}: {e}"
    except subprocess.TimeoutExpired:
        return "timed out"
    if run.returncode != 0:
        return f"exit {run.returncode}: {run.stderr.strip()[:200]}"
    try:
        return json.loads(run.stdout)["connections"]
    except (ValueError, KeyError, TypeError) as e:
        return f"unreadable JSON: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--tcpstate", default="target/release/tcpstate")
    args = ap.parse_args()

    matched = total = 0
    for truth_path in sorted(glob.glob(os.path.join(args.dir, "*.truth.json"))):
        name = os.path.basename(truth_path)[: -len(".truth.json")]
        pcap = os.path.join(args.dir, name + ".pcap")
        if not os.path.exists(pcap):
            continue
        with open(truth_path) as f:
            truth = json.load(f)["connections"]
        got = analyze(args.tcpstate, pcap)
        if isinstance(got, str):
            print(f"{name}: tool failed: {got}")
            got = []
        remaining = list(got)
        for i, conn in enumerate(truth):
            tool_conn = next((c for c in remaining if c.get("client") == conn["client"]
                              and c.get("server") == conn["server"]), None)
            if tool_conn is not None:
                remaining.remove(tool_conn)
            for side in ("client", "server"):
                total += 1
                expected = conn[f"{side}_states"]
                if tool_conn is None:
                    print(f"{name} #{i} {conn['client']} {side}: connection not found")
                    continue
                states = tool_states(tool_conn.get("endpoints", {}).get(side, {}))
                if states == expected:
                    matched += 1
                else:
                    print(f"{name} #{i} {conn['client']} {side}: expected "
                          f"{' '.join(expected)} got {' '.join(states) or '(nothing)'}")
    pct = 100 * matched / total if total else 0.0
    print(f"match: {matched}/{total} endpoints ({pct:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
