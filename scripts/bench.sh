#!/usr/bin/env bash
# Throughput and peak memory of tcpstate against the parse floor and the peers, on the standard
# corpora of ../shared/bench (deterministic). Prints a Markdown table; see README "Performance".
#
#   scripts/bench.sh [--corpora "medium large"] [--runs N] [--no-peers]
#
# Captures are read from the page cache (each is read once before timing). Each command runs
# N times (default 3); the table shows the fastest run and the largest peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

corpora="medium large"
runs=3
peers=1
while [ $# -gt 0 ]; do
    case "$1" in
        --corpora) corpora="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --no-peers) peers=0; shift ;;
        *) echo "usage: $0 [--corpora \"medium large\"] [--runs N] [--no-peers]" >&2; exit 2 ;;
    esac
done

bench_dir="${BENCH_DIR:-/tmp/bench}"
gen="../shared/bench/gen_corpus.py"
declare -A conns=([small]=1000 [medium]=17500 [large]=131000 [xlarge]=1310000)

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2 …" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; fi
}
[ -x /usr/bin/time ] || need /usr/bin/time time
if [ "$peers" = 1 ]; then need tshark tshark; need tcptrace tcptrace; fi

cargo build --release --quiet --bin tcpstate --example floor
tcpstate=target/release/tcpstate
floor=target/release/examples/floor

mkdir -p "$bench_dir"
for c in $corpora; do
    f="$bench_dir/$c.pcap"
    [ -s "$f" ] || python3 "$gen" --connections "${conns[$c]}" --out "$f" >&2
done

# measure NAME CMD...: best wall time and max RSS over $runs runs → "seconds kib"
measure() {
    local best="" rss=0 t m
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o /tmp/tcpstate-bench.time "$@" >/dev/null 2>/dev/null || true
        read -r t m < /tmp/tcpstate-bench.time
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $rss"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "tcpstate $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $runs runs each, best time shown"
echo
echo "| corpus | command | s | MB/s | packets/s | peak RSS MB | × floor |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for c in $corpora; do
    f="$bench_dir/$c.pcap"
    cat "$f" > /dev/null
    bytes=$(stat -c %s "$f")
    packets=$("$floor" "$f" | awk '{print $1}')
    declare -a names=() cmds=()
    names+=("floor (pcap-parser + etherparse)"); cmds+=("$floor $f")
    names+=("tcpstate analyze --json"); cmds+=("$tcpstate analyze --json $f")
    if "$tcpstate" analyze --help | grep -q -- --threads; then
        names+=("tcpstate analyze --json --threads 1"); cmds+=("$tcpstate analyze --json --threads 1 $f")
    fi
    if "$tcpstate" summary --help >/dev/null 2>&1; then
        names+=("tcpstate summary"); cmds+=("$tcpstate summary $f")
    fi
    if [ "$peers" = 1 ]; then
        names+=("tshark -q -z conv,tcp"); cmds+=("tshark -r $f -q -z conv,tcp")
        names+=("tcptrace -n -l"); cmds+=("tcptrace -n -l $f")
    fi
    floor_pps=""
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086
        read -r secs kib <<<"$(measure ${cmds[$i]})"
        pps=$(awk "BEGIN{printf \"%.0f\", $packets / $secs}")
        [ -z "$floor_pps" ] && floor_pps=$pps
        awk -v c="$c" -v n="${names[$i]}" -v s="$secs" -v b="$bytes" -v p="$pps" -v k="$kib" -v fp="$floor_pps" \
            'BEGIN{printf "| %s | `%s` | %.2f | %.0f | %.0f | %.0f | %.2f |\n", c, n, s, b/1e6/s, p, k/1024, p/fp}'
    done
done
