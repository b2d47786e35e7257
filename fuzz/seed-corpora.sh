#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (gitignored) with seed inputs:
#   - the committed hand-made seeds in fuzz/seeds/<target>/;
#   - files of the synthetic golden set (/work/shared/golden/input, or $SHARED/golden/input):
#     .hea headers, the first 2 KiB of a few .dat files behind each of the target's
#     header-choice prefixes, CSV fields, and the CSVs gunzipped and cut to 50 lines.
# Safe to rerun: it only adds files (named by content hash) and never deletes.
set -eu  # no pipefail: `head` closing a pipe early is expected here
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$here/../../shared}
input=$shared/golden/input
corpus=$here/corpus

put() { # put <target> <file-with-content>: store under its sha1 name
    local h
    h=$(sha1sum "$2" | cut -c1-16)
    cp "$2" "$corpus/$1/$h"
}

for t in wfdb_header wfdb_samples timestamp_id table_reader; do
    mkdir -p "$corpus/$t"
    cp "$here/seeds/$t/"* "$corpus/$t/"
done
if [ ! -d "$input" ]; then
    echo "no golden input at $input: only the committed seeds were copied" >&2
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# wfdb_header: every golden header.
find "$input" -name '*.hea' | while read -r f; do put wfdb_header "$f"; done

# wfdb_samples: the first 2 KiB of 4 records behind a few header choices
# (byte 0 = format index, byte 1 = signal count / length mode / skew / offset / two files).
find "$input" -name '*.dat' | sort | head -4 | while read -r f; do
    for prefix in '\x01\x03\x00\x00\x00\x00\x00\x00' '\x07\x00\x00\x00\x00\x00\x00\x00' \
                  '\x01\x77\x10\x03\x05\x00\x00\x02' '\x08\x02\x00\x00\x00\x00\x00\x00' \
                  '\x00\x01\x40\x00\x00\x00\x09\x03' '\x04\x33\x20\x05\x11\x80\x00\x04'; do
        { printf "$prefix"; head -c 2048 "$f"; } > "$tmp/s"
        put wfdb_samples "$tmp/s"
    done
done

# table_reader: each CSV's first 50 lines, plain (flag 0), gzip (1), raw-as-gz (2), cut gzip (3).
find "$input" -name '*.csv.gz' | while read -r f; do
    for flag in '\x00' '\x01' '\x02' '\x03'; do
        { printf "$flag"; zcat "$f" | head -n 50; } > "$tmp/t"
        put table_reader "$tmp/t"
    done
done

# timestamp_id: distinct fields of those 50-line CSVs (ids, times, floats, NA), at most 300.
find "$input" -name '*.csv.gz' | while read -r f; do zcat "$f" | head -n 50; done \
    | tr ',' '\n' | sort -u | head -n 300 | while IFS= read -r field; do
        printf '%s' "$field" > "$tmp/f"
        put timestamp_id "$tmp/f"
    done

for t in wfdb_header wfdb_samples timestamp_id table_reader; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
