#!/bin/sh
# Regenerates tests/public_traces_counts.tsv from tshark: run from the repository root with
# ../shared/public-traces beside it. Frames: every record (capinfos); connections: distinct
# tcp.stream values, two-pass like the reference *.tshark-fields.txt files.
set -eu
cd ../shared/public-traces
echo "# Frame and TCP connection counts of every capture in ../shared/public-traces, made by"
echo "# tests/public_traces_counts.sh (TShark 4.0.17): path, frames (capinfos -c -M), distinct tcp.stream values"
echo "# (tshark -n -2 -r F -Y tcp -T fields -E occurrence=f -e tcp.stream | sort -u | wc -l)."
find . -type f -name '*.tshark-fields.txt' | sed 's/\.tshark-fields\.txt$//' | sort | while read -r f; do
    n=$(capinfos -c -M "$f" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
    s=$(tshark -n -2 -r "$f" -Y tcp -T fields -E occurrence=f -e tcp.stream 2>/dev/null | sort -u | grep -c . || true)
    printf '%s\t%s\t%s\n' "${f#./}" "$n" "$s"
done
