#!/usr/bin/env bash
# Record the TCP state fixtures: pcaps + kernel truth files.
#   sudo scripts/record-fixtures.sh [--out DIR] [--delay-ms MS] [--seed N] [--list] [SCENARIO ...]
# Needs root (namespaces, tracefs, tcpdump).  Always removes its namespaces
# and trace instances, even when interrupted.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "record-fixtures.sh: must run as root" >&2
    exit 1
fi

missing=()
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v ethtool >/dev/null || missing+=(ethtool)
command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && apt-get install -y -q "${missing[@]}"
fi

here="$(cd "$(dirname "$0")" && pwd)"

cleanup() {
    for ns in tcpst-client tcpst-fwd tcpst-server; do
        [ -e "/run/netns/$ns" ] || continue
        # Our tcpdump/forwarder/apps if the recorder itself was killed hard.
        ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    for inst in /sys/kernel/tracing/instances/tcpstate-rec*; do
        [ -d "$inst" ] || continue
        echo 0 > "$inst/tracing_on" || true
        rmdir "$inst" || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$here/fixture_recorder/record.py" "$@"
