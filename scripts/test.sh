#!/usr/bin/env bash
# Everything `npm test` runs, in order. Installs what it needs (idempotently), then:
# type check, lint, build, unit tests, conformance vectors, VS Code suites, packaging.
# Ends with one line "tests: N passed, N failed" summed over every mocha run.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

step() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc in $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ]; then status=1; fi
  return "$rc"
}

step setup bash scripts/setup.sh || { echo "setup failed; nothing else can run"; exit 1; }
step build node scripts/build.mjs || exit 1
step typecheck npx --no-install tsc --noEmit -p .
step lint npx --no-install eslint src test bench scripts
step unit npx --no-install mocha
step conformance npx --no-install mocha --config .mocharc.conformance.json
step vscode node scripts/run-vscode-tests.mjs
step package npx --no-install vsce package --no-dependencies --out dist/sigstore-vscode.vsix

count() { grep -aoE "^ *[0-9]+ $1" "$log" | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(count passing)
failed=$(count failing)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
