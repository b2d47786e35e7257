#!/usr/bin/env bash
# Fetches the files of a Symile-MIMIC download plan from PhysioNet with wget.
# Written by `symile-mimic plan`; the plan's lists (mimic-cxr-jpg.txt,
# mimic-iv-ecg.txt) sit next to this script and are read when it runs.
#
#   bash download.sh [--refetch] [DEST]
#
# DEST (default: the current directory) receives the tree `wget -x` leaves,
# physionet.org/files/<project>/<version>/..., which `symile-mimic build
# --mimic-root DEST --plan <this directory>` reads. Besides the planned files
# it fetches each project's tables and SHA256SUMS.txt when they are absent.
#
# Run it again at any time: files whose SHA-256 matches the project's
# SHA256SUMS.txt are skipped, a partial file is continued (wget --continue),
# and files the server answers 404 for are appended to absent.txt next to
# this script and not asked for again. --refetch deletes and fetches again
# the files `symile-mimic plan --check` listed in refetch.txt.
#
# The PhysioNet password is asked for once and never written to a file or
# put on a command line (where `ps` shows it to every user): wget asks an
# askpass helper (--use-askpass, wget >= 1.19) for each URL, and the helper
# prints what it finds in that wget's own environment. wget only does so for
# URLs on its command line, so the files go to wget a few hundred at a time
# (xargs). PHYSIONET_USER skips the user name prompt; PHYSIONET_URL replaces
# https://physionet.org (a mirror with the same /files/ layout).
set -euo pipefail
export LC_ALL=C

plan_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_url=${PHYSIONET_URL:-https://physionet.org}
base_url=${base_url%/}

refetch=0
if [[ ${1:-} == --refetch ]]; then
  refetch=1
  shift
fi
if [[ $# -gt 1 || ${1:-} == -* ]]; then
  echo "usage: bash download.sh [--refetch] [DEST]" >&2
  exit 2
fi
dest=${1:-.}

# project, release, the plan's list of its files ("-": none), its tables
projects=(@PROJECTS@)

command -v wget >/dev/null || { echo "error: wget is not installed" >&2; exit 2; }
wget --help 2>&1 | grep -q -- --use-askpass || { echo "error: wget 1.19 or later is needed (--use-askpass)" >&2; exit 2; }
have_sha256sum=0
if command -v sha256sum >/dev/null && sha256sum --help 2>&1 | grep -q -- --ignore-missing; then
  have_sha256sum=1
else
  echo "note: GNU sha256sum not found: complete files are not skipped locally, wget --continue asks the server" >&2
fi

user=${PHYSIONET_USER:-}
if [[ -z $user ]]; then
  read -r -p "PhysioNet username: " user || { echo "error: no user name given" >&2; exit 2; }
fi
read -r -s -p "PhysioNet password for $user: " password || { echo "error: no password given" >&2; exit 2; }
echo >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The helper holds no credentials: it answers wget's prompt ("Username for
# ..." or "Password for ...") from its caller's environment.
cat >"$tmp/askpass" <<'HELPER'
#!/bin/sh
case $1 in
  Username*) printf '%s\n' "$SYMILE_PHYSIONET_USER" ;;
  *) printf '%s\n' "$SYMILE_PHYSIONET_PASSWORD" ;;
esac
HELPER
chmod 700 "$tmp/askpass"
mkdir -p "$dest"
cd "$dest"

# wget and its options: the credentials sent with the first request (over
# HTTPS), the tree physionet.org/files/... whatever host PHYSIONET_URL names.
wget_cmd=(wget --use-askpass="$tmp/askpass" --auth-no-challenge
  --continue --force-directories --no-host-directories --directory-prefix=physionet.org)
wget_auth() {
  SYMILE_PHYSIONET_USER=$user SYMILE_PHYSIONET_PASSWORD=$password "${wget_cmd[@]}" "$@"
}

# Whether the server answers 404 for a URL (asked once per file still missing
# after a batch, so that a network failure is not taken for absence).
is_404() {
  local out
  out=$(wget_auth --spider --server-response "$1" 2>&1) || true
  grep -Eq '^ *HTTP/[0-9.]+ 404' <<<"$out"
}

# Lines of $2 that are not lines of $1.
minus() {
  awk 'FILENAME == ARGV[1] { drop[$0] = 1; next } !($0 in drop)' "$1" "$2"
}

# Lines of stdin that start with $1, without it.
strip_prefix() {
  awk -v pre="$1" 'index($0, pre) == 1 { print substr($0, length(pre) + 1) }'
}

# The paths on stdin (relative to $1) that name a non-empty file.
present() {
  while IFS= read -r p; do
    if [[ -s $1/$p ]]; then
      printf '%s\n' "$p"
    fi
  done
}

# Files of list $1 (relative to project root $2) that match SHA256SUMS.txt.
verified() {
  local list=$1 root=$2
  if [[ $have_sha256sum == 0 || ! -s $root/SHA256SUMS.txt ]]; then
    return 0
  fi
  awk 'FILENAME == ARGV[1] { want[$0] = 1; next } { p = substr($0, 67); if (p in want) print }' \
    "$list" "$root/SHA256SUMS.txt" >"$tmp/sums"
  (cd "$root" && sha256sum --check --quiet --ignore-missing "$tmp/sums" 2>/dev/null || true) |
    sed -n 's/: FAILED.*$//p' >"$tmp/failed"
  cut -c 67- "$tmp/sums" | present "$root" | minus "$tmp/failed" /dev/stdin
}

touch "$plan_dir/absent.txt"
failed_total=0
corrupt_total=0
for spec in "${projects[@]}"; do
  read -r project version list tables <<<"$spec"
  root=physionet.org/files/$project/$version
  url=$base_url/files/$project/$version
  echo "== $project $version -> $dest/$root" >&2

  # The checksums first: they let a rerun skip complete files without asking the server.
  status=0
  wget_auth --no-verbose "$url/SHA256SUMS.txt" || status=$?
  if [[ $status == 6 ]]; then
    echo "error: PhysioNet refused the user name or password (or $user has no access to $project)" >&2
    exit 2
  fi

  # What to fetch: the tables and the planned files, less those the archive lacks.
  strip_prefix "$project/$version/" <"$plan_dir/absent.txt" | sort -u >"$tmp/absent"
  if [[ $refetch == 1 ]]; then
    [[ -f $plan_dir/refetch.txt ]] || { echo "error: no $plan_dir/refetch.txt: run symile-mimic plan --check first" >&2; exit 2; }
    # The URLs name https://physionet.org: match their path, whatever PHYSIONET_URL says.
    awk -v key="/files/$project/$version/" '{ i = index($0, key); if (i) print substr($0, i + length(key)) }' \
      "$plan_dir/refetch.txt" >"$tmp/want"
    while IFS= read -r p; do
      rm -f -- "$root/$p"
    done <"$tmp/want"
  else
    tr ' ' '\n' <<<"$tables" >"$tmp/want"
    if [[ $list != - ]]; then
      cat "$plan_dir/$list" >>"$tmp/want"
    fi
  fi
  minus "$tmp/absent" "$tmp/want" >"$tmp/wanted"
  verified "$tmp/wanted" "$root" >"$tmp/ok"
  minus "$tmp/ok" "$tmp/wanted" >"$tmp/to_fetch"
  n_wanted=$(wc -l <"$tmp/wanted")
  n_fetch=$(wc -l <"$tmp/to_fetch")
  echo "$((n_wanted - n_fetch)) of $n_wanted file(s) already complete, $n_fetch to fetch" >&2

  if [[ $n_fetch -gt 0 ]]; then
    # Failures are sorted out below, file by file.
    awk -v pre="$url/" '{ printf "%s%s%c", pre, $0, 0 }' "$tmp/to_fetch" |
      SYMILE_PHYSIONET_USER=$user SYMILE_PHYSIONET_PASSWORD=$password \
        xargs -0 -n 200 "${wget_cmd[@]}" --no-verbose || true
  fi

  # Files still missing: absent from the archive (404) or not fetched (retry later).
  absent=0
  failed=0
  while IFS= read -r p; do
    if [[ -s $root/$p ]]; then
      continue
    fi
    if is_404 "$url/$p"; then
      printf '%s\n' "$project/$version/$p" >>"$plan_dir/absent.txt"
      absent=$((absent + 1))
    else
      failed=$((failed + 1))
    fi
  done <"$tmp/to_fetch"

  # Files fetched now that do not match their checksum.
  corrupt=0
  if [[ $n_fetch -gt 0 && $have_sha256sum == 1 && -s $root/SHA256SUMS.txt ]]; then
    verified "$tmp/to_fetch" "$root" >"$tmp/ok"
    awk 'FILENAME == ARGV[1] { listed[substr($0, 67)] = 1; next } ($0 in listed)' "$root/SHA256SUMS.txt" "$tmp/to_fetch" |
      minus "$tmp/ok" /dev/stdin | present "$root" >"$tmp/corrupt"
    corrupt=$(wc -l <"$tmp/corrupt")
  fi
  echo "$project: $absent absent from the archive (recorded in absent.txt), $failed not fetched, $corrupt not matching SHA256SUMS.txt" >&2
  failed_total=$((failed_total + failed))
  corrupt_total=$((corrupt_total + corrupt))
done

if [[ $failed_total -gt 0 || $corrupt_total -gt 0 ]]; then
  echo "incomplete: run this script again (it continues where it stopped); for files that stay corrupt run" >&2
  echo "  symile-mimic plan --check --out $plan_dir --mimic-root $(pwd)  and then  bash $plan_dir/download.sh --refetch $(pwd)" >&2
  exit 1
fi
echo "done: symile-mimic build --mimic-root $(pwd) --plan $plan_dir" >&2
