#!/usr/bin/env bash
# Start-up cost of `corral run` (LANGUAGE.md §6, issue 4 item 7): the time
# from exec to the sandboxed command's exit, for `/bin/true`, against
# `/bin/true` alone and against `bwrap --ro-bind / / /bin/true`.
#
#   benches/scripts/run-start.sh [POLICY_FILE [POLICY]]
#
# Needs hyperfine and bubblewrap (Debian packages `hyperfine`,
# `bubblewrap`), a release build, and a kernel with Landlock. Prints a
# Markdown table (also written to target/run-start.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
file=${1:-examples/coding-assistant.corral}
policy=${2:-coding_assistant}
cargo build --release -q -p corral
corral=target/release/corral
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The prebuilt ruleset for `--ruleset` (with translation validation).
"$corral" build "$file" --policy "$policy" --target landlock --out "$out/ruleset" --accept-broader >/dev/null 2>&1
# The rule count depends on the live tree (see docs/benchmarks.md).
echo "ruleset: $(grep -c '^  /' "$out/ruleset/landlock.txt") paths"
hyperfine -N ${HYPERFINE_ARGS:-} --warmup 5 --runs "${RUNS:-100}" --export-markdown target/run-start.md \
    -n '/bin/true' '/bin/true' \
    -n 'bwrap --ro-bind / / /bin/true' 'bwrap --ro-bind / / /bin/true' \
    -n "corral run --ruleset ($policy)" "$corral run $file --policy $policy --ruleset $out/ruleset --accept-broader --audit /dev/null -- /bin/true" \
    -n "corral run, lowered at start ($policy)" "$corral run $file --policy $policy --accept-broader --audit /dev/null -- /bin/true"
cat target/run-start.md
