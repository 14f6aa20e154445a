#!/usr/bin/env bash
# The nightly performance report of fastconv, and a regression gate.
#
#   asv_benchmarks/nightly.sh [options] [run]                 the nightly job
#   asv_benchmarks/nightly.sh [options] continuous BASE HEAD  measure two commits, gate
#   asv_benchmarks/nightly.sh [options] compare BASE HEAD     gate on stored results
#
# run (the default)
#     1. `asv machine --yes` (describes this machine, once per run; idempotent);
#     2. `asv run NEW`: benchmark the commits of `main` that have no results on
#        this machine yet, at most --max-commits of them (evenly spaced), in the
#        full profile; on the very first run, only the tip of `main`;
#     3. `asv publish`: the static HTML report, in --html-dir
#        (default asv_benchmarks/.asv/html); open its index.html, or serve the
#        folder with any static web server (`python -m asv preview`).
#     With --existing PYTHON, step 2 measures the fastconv already installed in
#     (or, with ASV_PYTHONPATH, importable by) that interpreter instead of
#     building each commit, and records it as the tip of `main`.
# continuous BASE HEAD
#     `asv continuous`: build and measure both commits, then the gate below.
# compare BASE HEAD
#     The gate alone, on results already stored (by earlier runs) for both.
#
# The gate exits with status 1 when a benchmark got worse by more than
# --factor (default 1.10, i.e. 10 %) with asv's statistical test: a time_ or
# peakmem_ benchmark that grew, a track_ benchmark (GFLOP/s, higher is better)
# that fell, or a benchmark that ran before and fails now. 0 otherwise.
#
# Options
#   --existing PYTHON   use asv's `existing:PYTHON` environment (no build, no
#                       package index); `run` mode only
#   --factor F          regression threshold of the gate (default 1.10)
#   --max-commits N     at most N new commits per nightly run (default 10)
#   --html-dir DIR      where `asv publish` writes the report (default .asv/html)
#   --bench REGEX       only the benchmarks whose name matches REGEX
#   --machine NAME      machine name for asv (default: the host name)
#   --quick             the quick profile, one sample per benchmark; smoke test
#                       only: results are not saved and there is no report
#   -h, --help          this text
#
# Environment: PYTHON, the interpreter that runs asv (default python3);
# ASV_PYTHONPATH, passed to the benchmarks as PYTHONPATH (a source checkout
# built in place, with --existing).
#
# asv starts every benchmark in a fresh interpreter (launch method `spawn`,
# pinned here as in asv.conf.json): no OpenMP runtime is forked, and the
# start-up is a small part of each benchmark. The full suite takes tens of
# minutes per commit on a 2-core machine; see README.md for cron and CI use.
set -euo pipefail

caller=$(pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
# Paths given on the command line are relative to where the script was started.
absolute() { case "$1" in /*) echo "$1" ;; */*) echo "$caller/$1" ;; *) echo "$1" ;; esac; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "nightly.sh: $*" >&2; exit 2; }

python=${PYTHON:-python3}
existing=""
factor=1.10
max_commits=10
html_dir=""
bench=()
machine=()
quick=0
mode=run
positional=()

while [ $# -gt 0 ]; do
    case "$1" in
        --existing) [ $# -ge 2 ] || die "--existing needs a Python interpreter"; existing=$(absolute "$2"); shift 2 ;;
        --factor) [ $# -ge 2 ] || die "--factor needs a number"; factor=$2; shift 2 ;;
        --max-commits) [ $# -ge 2 ] || die "--max-commits needs a number"; max_commits=$2; shift 2 ;;
        --html-dir) [ $# -ge 2 ] || die "--html-dir needs a folder"
            case "$2" in /*) html_dir=$2 ;; *) html_dir=$caller/$2 ;; esac; shift 2 ;;
        --bench) [ $# -ge 2 ] || die "--bench needs a regular expression"; bench+=(--bench "$2"); shift 2 ;;
        --machine) [ $# -ge 2 ] || die "--machine needs a name"; machine=(--machine "$2"); shift 2 ;;
        --quick) quick=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
if [ ${#positional[@]} -gt 0 ]; then
    mode=${positional[0]}
    positional=("${positional[@]:1}")
fi
"$python" -c "import sys; f = float(sys.argv[1]); sys.exit(0 if f > 1 else 1)" "$factor" 2>/dev/null \
    || die "--factor must be a number above 1, got $factor"
case "$max_commits" in ''|*[!0-9]*|0) die "--max-commits must be a positive integer, got $max_commits" ;; esac

asv() { "$python" -m asv "$@"; }
step() { echo; echo "=== nightly.sh [$(date -u +%H:%M:%S)] $*"; }

if [ "$quick" = 1 ]; then
    export FASTCONV_ASV_PROFILE=quick
else
    export FASTCONV_ASV_PROFILE=full
fi
launch=(--launch-method spawn)
env_args=()
if [ -n "$existing" ]; then
    existing_path=$(command -v "$existing") || die "--existing: no interpreter $existing"
    env_args=(-E "existing:$existing_path")
fi

# Whether asv has stored results of any commit (not only machine descriptions).
has_results() {
    local f
    for f in .asv/results/*/*.json; do
        if [ -e "$f" ] && [ "${f##*/}" != machine.json ]; then
            return 0
        fi
    done
    return 1
}

# The gate: parse `asv compare` (which itself always exits 0) and decide.
gate() {
    local base=$1 head=$2
    step "gate: $base -> $head, factor $factor"
    local table
    table=$(asv compare --factor "$factor" --split --sort ratio "${machine[@]}" "$base" "$head") \
        || { echo "$table"; return 2; }
    echo "$table"
    FACTOR="$factor" "$python" -c '
import os, re, sys
factor = os.environ["FACTOR"]
# asv marks a row "+" when the value grew, "-" when it fell, "!" when the
# benchmark failed on the second commit only; higher is better for track_.
bad = []
measured = 0
for line in sys.stdin:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 5 or cells[0] not in ("", "+", "-", "!", "x", "*"):
        continue
    if cells[2] not in ("", "n/a", "failed") and not cells[2].startswith(("After", "-")):
        measured += 1
    if cells[0] not in ("+", "-", "!"):
        continue
    mark, name = cells[0], cells[4]
    higher_is_better = re.search(r"\.track_", name) is not None
    if mark == "!" or (mark == "+") != higher_is_better:
        bad.append(f"{mark} {cells[3]:>8}  {name}")
if not measured:
    print("\nno measured result for the second commit: nothing to compare")
    sys.exit(1)
if bad:
    print(f"\nREGRESSION above a factor of {factor} in {len(bad)} benchmark(s):")
    print("\n".join(bad))
    sys.exit(1)
print(f"\nno regression above a factor of {factor}")
' <<<"$table"
}

case "$mode" in
run)
    [ ${#positional[@]} -eq 0 ] || die "run takes no commits (got ${positional[*]})"
    step "describe the machine"
    asv machine --yes "${machine[@]}" >/dev/null
    if [ "$quick" = 1 ]; then
        step "quick profile: every benchmark once, nothing saved"
        asv run --quick --dry-run --show-stderr "${launch[@]}" "${env_args[@]}" \
            "${machine[@]}" "${bench[@]}"
        exit $?
    fi
    if [ -n "$existing" ]; then
        step "benchmark the installed fastconv as the tip of main"
        asv run --set-commit-hash main --show-stderr "${launch[@]}" "${env_args[@]}" \
            "${machine[@]}" "${bench[@]}"
    elif has_results; then
        step "benchmark the new commits of main (at most $max_commits)"
        # "No commit hashes selected" (nothing new) is not a failure.
        log=$(mktemp)
        set +e
        asv run NEW --steps "$max_commits" --skip-existing-commits --show-stderr \
            "${launch[@]}" "${machine[@]}" "${bench[@]}" 2>&1 | tee "$log"
        status=${PIPESTATUS[0]}
        set -e
        if [ "$status" -ne 0 ] && ! grep -q "No commit hashes selected" "$log"; then
            rm -f "$log"
            exit "$status"
        fi
        rm -f "$log"
    else
        step "first run on this machine: benchmark the tip of main"
        hashfile=$(mktemp)
        echo main >"$hashfile"
        asv run "HASHFILE:$hashfile" --show-stderr "${launch[@]}" "${machine[@]}" "${bench[@]}"
        rm -f "$hashfile"
    fi
    step "publish the HTML report"
    if [ -n "$html_dir" ]; then
        asv publish --html-dir "$html_dir"
        echo "report: $(cd "$html_dir" && pwd)/index.html"
    else
        asv publish
        echo "report: $here/.asv/html/index.html"
    fi
    ;;
continuous)
    [ ${#positional[@]} -eq 2 ] || die "continuous needs BASE and HEAD commits"
    [ -z "$existing" ] || die "continuous builds two commits: it cannot use --existing"
    [ "$quick" = 0 ] || die "continuous needs saved results: it cannot use --quick"
    step "describe the machine"
    asv machine --yes "${machine[@]}" >/dev/null
    step "measure ${positional[0]} and ${positional[1]}"
    # asv continuous exits 1 on any change it reads as a slowdown, including
    # a rising GFLOP/s; the gate below reads the direction per benchmark.
    asv continuous --factor "$factor" --show-stderr "${launch[@]}" "${machine[@]}" \
        "${bench[@]}" "${positional[0]}" "${positional[1]}" || true
    gate "${positional[0]}" "${positional[1]}"
    ;;
compare)
    [ ${#positional[@]} -eq 2 ] || die "compare needs BASE and HEAD commits"
    gate "${positional[0]}" "${positional[1]}"
    ;;
*)
    die "unknown mode $mode: use run, continuous or compare (see --help)"
    ;;
esac
