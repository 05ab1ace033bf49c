#!/usr/bin/env bash
# Throughput and peak memory of tcpstate against the parse floor and the peers, on the standard
# corpora of ../shared/bench (deterministic). Prints Markdown tables; see README "Performance".
#
#   scripts/bench.sh [--corpora "medium large"] [--runs N] [--no-peers] [--growth]
#
# Corpora are small, medium, large (written to $BENCH_DIR, default /tmp/bench, when missing) and
# read from the page cache (each is read once before timing). Each command runs N times (default
# 3); a table per corpus shows the fastest run's wall time (scripts/bench-time.py, perf_counter)
# and the largest peak RSS (/usr/bin/time), in this order: the floor (examples/floor.rs), tcpstate
# analyze --json with --threads 1 and with the default threads, tcpstate summary, two
# --threads 1 runs at once (the machine's parallel ceiling; its MB/s and packets/s count both),
# then tshark and tcptrace (installed with apt when missing; --no-peers leaves them out). A line
# after each table gives the ratios the issue "Performance" sets targets for.
#
# --growth adds a table of tcpstate's peak RSS on large, on xlarge (10x large's connections,
# ~15 GB) and on xlarge-flat (xlarge without its never-closed connections beyond large's count,
# scripts/flatten-corpus.py, so as many connections are open at once as in large): memory must
# not grow with the length of a capture, only with what is open. It writes both files (~30 GB,
# checked with df first; generating xlarge takes ~6-8 min) and reuses them later.
# `--corpora "" --growth` runs only that table.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: $0 [--corpora \"medium large\"] [--runs N] [--no-peers] [--growth]"
corpora="medium large"
runs=3
peers=1
growth=0
while [ $# -gt 0 ]; do
    case "$1" in
        --corpora) corpora="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --no-peers) peers=0; shift ;;
        --growth) growth=1; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done

bench_dir="${BENCH_DIR:-/tmp/bench}"
gen="../shared/bench/gen_corpus.py"
declare -A conns=([small]=1000 [medium]=17500 [large]=131000 [xlarge]=1310000)
for c in $corpora; do
    case "$c" in
        small | medium | large) ;;
        *) echo "unknown corpus $c (small, medium, large; xlarge is --growth's)" >&2; exit 2 ;;
    esac
done

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2 …" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; fi
}
need /usr/bin/time time
if [ "$peers" = 1 ]; then need tshark tshark; need tcptrace tcptrace; fi

cargo build --release --quiet --bin tcpstate --example floor
tcpstate=target/release/tcpstate
floor=target/release/examples/floor

mkdir -p "$bench_dir"
# generate NAME [--manifest]: writes $bench_dir/NAME.pcap (and NAME.csv) unless present. Written
# beside and renamed at the end, so an interrupted run never leaves a short corpus behind.
generate() {
    local f="$bench_dir/$1.pcap" m="$bench_dir/$1.csv"
    if [ "${2:-}" = --manifest ]; then
        [ -s "$f" ] && [ -s "$m" ] && return
        python3 "$gen" --connections "${conns[$1]}" --out "$f.part" --manifest "$m.part" >&2
        mv "$m.part" "$m"
    else
        [ -s "$f" ] && return
        python3 "$gen" --connections "${conns[$1]}" --out "$f.part" >&2
    fi
    mv "$f.part" "$f"
}

# measure [--copies K] CMD...: "seconds kib" (best wall time, largest peak RSS), or "failed"
# after the command's error on stderr. --copies K runs K copies at once (see bench-time.py).
measure() {
    local copies=()
    if [ "$1" = --copies ]; then copies=(--copies "$2"); shift 2; fi
    python3 scripts/bench-time.py "${copies[@]}" "$runs" "$@" || echo failed
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "tcpstate $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $runs runs each, best time shown"

for c in $corpora; do
    generate "$c"
    f="$bench_dir/$c.pcap"
    cat "$f" > /dev/null
    bytes=$(stat -c %s "$f")
    packets=$("$floor" "$f" | awk '{print $1}')
    names=() cmds=()
    names+=("floor (pcap-parser + etherparse)"); cmds+=("$floor $f")
    names+=("tcpstate analyze --json --threads 1"); cmds+=("$tcpstate analyze --json --threads 1 $f")
    names+=("tcpstate analyze --json"); cmds+=("$tcpstate analyze --json $f")
    names+=("tcpstate summary"); cmds+=("$tcpstate summary $f")
    # Two single-threaded runs side by side, sharing nothing: the machine's own parallel
    # speedup, which bounds what --threads can reach on it.
    names+=("2 × analyze --json --threads 1 at once"); cmds+=("--copies 2 $tcpstate analyze --json --threads 1 $f")
    if [ "$peers" = 1 ]; then
        names+=("tshark -q -z conv,tcp"); cmds+=("tshark -r $f -q -z conv,tcp")
        names+=("tcptrace -n -l"); cmds+=("tcptrace -n -l $f")
    fi
    echo
    echo "$c: $bytes bytes, $packets packets, ${conns[$c]} connections"
    echo
    echo "| command | s | MB/s | packets/s | peak RSS MB | × floor |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    pps=()
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086
        read -r secs kib <<<"$(measure ${cmds[$i]})"
        if [ "$secs" = failed ]; then
            echo "| \`${names[$i]}\` | failed | | | | |"
            continue
        fi
        copies=1
        case "${cmds[$i]}" in --copies*) read -r _ copies _ <<<"${cmds[$i]}" ;; esac
        pps[$i]=$(awk "BEGIN{printf \"%.0f\", $copies * $packets / $secs}")
        awk -v n="${names[$i]}" -v s="$secs" -v b="$((copies * bytes))" -v p="${pps[$i]}" -v k="$kib" -v fp="${pps[0]:-0}" \
            'BEGIN{printf "| `%s` | %.3f | %.0f | %.0f | %.0f | %s |\n", n, s, b/1e6/s, p, k/1024, fp ? sprintf("%.2f", p/fp) : "?"}'
    done
    # The issue's targets: single-thread analyze ≥ 0.5 of the floor, the default threads ≥ 1.6×
    # --threads 1 (on large), ≥ 20× tshark; and the machine's ceiling for the second.
    awk -v floor="${pps[0]:-0}" -v one="${pps[1]:-0}" -v many="${pps[2]:-0}" -v pair="${pps[4]:-0}" -v tshark="${pps[5]:-0}" 'BEGIN {
        printf "\nanalyze --threads 1 / floor: %s (target ≥ 0.50); default threads / --threads 1: %s (target ≥ 1.6 on large; two runs side by side: %s); analyze --threads 1 / tshark: %s (target ≥ 20)\n",
            floor && one ? sprintf("%.2f", one / floor) : "n/a",
            one && many ? sprintf("%.2f", many / one) : "n/a",
            one && pair ? sprintf("%.2f", pair / one) : "n/a",
            one && tshark ? sprintf("%.1f", one / tshark) : "n/a"
    }'
done

[ "$growth" = 1 ] || exit 0

# Space for what is missing of xlarge.pcap, its manifest and xlarge-flat.pcap: 10× large each
# (the manifest is small beside them) and 5 % to spare.
generate large --manifest
large_bytes=$(stat -c %s "$bench_dir/large.pcap")
needed=0
[ -s "$bench_dir/xlarge.pcap" ] && [ -s "$bench_dir/xlarge.csv" ] || needed=$((needed + large_bytes * 105 / 10))
[ -s "$bench_dir/xlarge-flat.pcap" ] || needed=$((needed + large_bytes * 105 / 10))
avail=$(df -B1 --output=avail "$bench_dir" | tail -1)
if [ "$needed" -gt "$avail" ]; then
    echo "--growth needs $((needed >> 30)) GiB free in $bench_dir for xlarge.pcap and xlarge-flat.pcap;" \
        "only $((avail >> 30)) GiB are. Free some space or set BENCH_DIR to a larger disk." >&2
    exit 1
fi
generate xlarge --manifest
# large's never-closed connections, found by the manifest's header rather than a column number.
keep=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kind") k = i; next } $k == "never_closed" { n++ } END { print n + 0 }' "$bench_dir/large.csv")
if [ ! -s "$bench_dir/xlarge-flat.pcap" ]; then
    python3 scripts/flatten-corpus.py --manifest "$bench_dir/xlarge.csv" --keep "$keep" \
        "$bench_dir/xlarge.pcap" "$bench_dir/xlarge-flat.pcap.part"
    mv "$bench_dir/xlarge-flat.pcap.part" "$bench_dir/xlarge-flat.pcap"
fi

echo
echo "growth: peak RSS MB on large (${conns[large]} connections), xlarge (${conns[xlarge]}) and xlarge-flat" \
    "(xlarge without its never-closed connections beyond large's $keep, so as many stay open);" \
    "target < 20 % on xlarge-flat"
echo
echo "| command | large | xlarge | growth | xlarge-flat | growth |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for args in "analyze --json --threads 1" "analyze --json" "summary"; do
    row=()
    for c in large xlarge xlarge-flat; do
        # shellcheck disable=SC2086
        read -r _ kib <<<"$(measure $tcpstate $args "$bench_dir/$c.pcap")"
        row+=("$kib")
    done
    awk -v n="tcpstate $args" -v l="${row[0]}" -v x="${row[1]}" -v f="${row[2]}" 'BEGIN {
        if (l == "" || x == "" || f == "") { printf "| `%s` | failed | | | | |\n", n; exit }
        printf "| `%s` | %.0f | %.0f | %+.0f %% | %.0f | %+.0f %% |\n", n, l/1024, x/1024, (x/l - 1) * 100, f/1024, (f/l - 1) * 100
    }'
done
