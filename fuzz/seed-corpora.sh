#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (gitignored) with seed inputs:
#   - the committed hand-made seeds in fuzz/seeds/<target>/;
#   - files of the synthetic golden set committed in testdata/golden (or $GOLDEN, a
#     directory with the same input/ and expected/ layout):
#     .hea headers, the first 2 KiB of a few .dat files behind each of the target's
#     header-choice prefixes, CSV fields, and the CSVs gunzipped and cut to 50 lines;
#   - for the tensor readers: small tensors written by TensorFile (the tensor-store
#     `write_tensor` example) in all three formats, the torch- and numpy-written
#     fixtures of crates/tensor-store/tests/data, and the golden safetensors under 8 KiB.
# Safe to rerun: it only adds files (named by content hash) and never deletes.
set -eu  # no pipefail: `head` closing a pipe early is expected here
here=$(cd "$(dirname "$0")" && pwd)
golden=${GOLDEN:-$here/../testdata/golden}
input=$golden/input
corpus=$here/corpus

put() { # put <target> <file-with-content>: store under its sha1 name
    local h
    h=$(sha1sum "$2" | cut -c1-16)
    cp "$2" "$corpus/$1/$h"
}

targets="wfdb_header wfdb_samples timestamp_id table_reader npy_reader safetensors_reader pt_reader"
for t in $targets; do
    mkdir -p "$corpus/$t"
    cp "$here/seeds/$t/"* "$corpus/$t/"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Tensor readers. npy_reader's input starts after the \x93NUMPY magic (tail -c +7);
# pt_reader's first byte is 0 for a whole archive, 1 for u16 length + data.pkl + storage.
u16le() { printf "\\$(printf '%03o' $(($1 & 255)))\\$(printf '%03o' $(($1 >> 8)))"; }
put_tensor() { # put_tensor <file>: feed a tensor file to the reader target of its format
    case $1 in
    *.npy) tail -c +7 "$1" > "$tmp/n"; put npy_reader "$tmp/n" ;;
    *.safetensors) put safetensors_reader "$1" ;;
    *.pt)
        { printf '\0'; cat "$1"; } > "$tmp/p"
        put pt_reader "$tmp/p"
        if command -v unzip > /dev/null; then
            stem=$(basename "$1" .pt)
            unzip -p "$1" "$stem/data.pkl" > "$tmp/pkl"
            { printf '\1'; u16le "$(wc -c < "$tmp/pkl")"; cat "$tmp/pkl"; unzip -p "$1" "$stem/data/0"; } > "$tmp/p"
            put pt_reader "$tmp/p"
        fi ;;
    esac
}
mkdir -p "$tmp/tensors"
while read -r name dtype dims; do
    for format in npy safetensors pt; do
        cargo run -q --manifest-path "$here/../Cargo.toml" -p tensor-store --example write_tensor -- \
            "$tmp/tensors" "$name" "$format" "$dtype" 1 $dims > /dev/null
        put_tensor "$tmp/tensors/$name.$format"
    done
done <<'SHAPES'
x f32 2 3
hadm_id_val_retrieval i64 5
labs_percentiles_val f32 3 50
cxr_val f32 2 3 4 4
ecg_val f32 1 1 20 12
label_test i64 0
empty i64 0 50
five f32 1 2 1 2 2
SHAPES
for f in "$here"/../crates/tensor-store/tests/data/*.npy "$here"/../crates/tensor-store/tests/data/*.pt; do
    put_tensor "$f"
done
if [ -d "$golden/expected/tensors" ]; then
    find "$golden/expected/tensors" -name '*.safetensors' -size -8k | while read -r f; do put_tensor "$f"; done
fi

if [ ! -d "$input" ]; then
    echo "no golden input at $input: only the committed seeds and the tensor files were added" >&2
    for t in $targets; do echo "$t: $(ls "$corpus/$t" | wc -l) seeds"; done
    exit 0
fi

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

for t in $targets; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
