#!/usr/bin/env bash
# Benchmark: a folder of 1 GiB in 1,000 files downloaded as one .tar
# (`?download=tar`) against the same bytes fetched as one 1 GiB file, both
# from one `wirecat serve` on 127.0.0.1 with curl to /dev/null, alternated
# ROUNDS times; medians and their ratio printed. Also times .zip and
# .tar.gz of the same folder for reference (no target).
#
# Usage: benches/archive.sh   (env: ROUNDS=5 FILES=1000 FILE_MIB=1)
# The files sit in the page cache after the first round (the same is true
# for the single file), so this measures the server, not the disk.
# Needs: curl, python3. Run by hand; it is not a test.
# Target (issue 14): .tar throughput >= 0.8x the single file's.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
FILES=${FILES:-1000}
FILE_MIB=${FILE_MIB:-1}

# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init archive.sh
need_tools curl python3 cargo
build_wirecat
make_tmp

mkdir -p "$TMP/site/folder"
python3 - "$TMP/site" "$FILES" "$FILE_MIB" <<'EOF'
import os, sys
site, files, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(1 << 20)
with open(os.path.join(site, "one.bin"), "wb") as one:
    for i in range(files):
        with open(os.path.join(site, "folder", f"f{i:04}.bin"), "wb") as f:
            for _ in range(mib):
                f.write(block)
                one.write(block)
EOF

"$WIRECAT" serve -q -p 0 "$TMP/site" >"$TMP/out" 2>"$TMP/err" &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q http "$TMP/out" 2>/dev/null && break
    sleep 0.1
done
URL=$(grep -o 'http://[^ ]*' "$TMP/out" | head -1)
[ -n "$URL" ] || { echo "archive.sh: the server did not start" >&2; cat "$TMP/err" >&2; exit 1; }

# Bytes per second of one download of $1 (curl's own measurement).
speed() {
    curl -sS --max-time 300 -o /dev/null -w '%{speed_download}\n' "$1"
}

median() {
    sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

speed "${URL}one.bin" >/dev/null   # warm the page cache
speed "${URL}folder/?download=tar" >/dev/null
: >"$TMP/one" ; : >"$TMP/tar"
for _ in $(seq "$ROUNDS"); do
    speed "${URL}one.bin" >>"$TMP/one"
    speed "${URL}folder/?download=tar" >>"$TMP/tar"
done
ONE=$(median <"$TMP/one")
TAR=$(median <"$TMP/tar")
ZIP=$(speed "${URL}folder/?download=zip")
TGZ=$(speed "${URL}folder/?download=tar.gz")
mib() { awk -v b="$1" 'BEGIN {printf "%.0f MiB/s", b / 1048576}'; }
echo "$FILES files of $FILE_MIB MiB, $ROUNDS rounds, medians:"
echo "  one file:    $(mib "$ONE")"
echo "  .tar:        $(mib "$TAR")"
echo "  .zip:        $(mib "$ZIP")   (one run; CRC-32 read as well as sent)"
echo "  .tar.gz:     $(mib "$TGZ")   (one run; gzip level 1, random bytes)"
awk -v t="$TAR" -v o="$ONE" 'BEGIN {printf "  .tar / one file: %.2fx (target >= 0.8x)\n", t / o}'
