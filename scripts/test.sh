#!/usr/bin/env bash
# Everything `npm test` runs, in order. Installs what it needs (idempotently), then:
# build, type check, lint, unit tests, conformance vectors, cosign interop, property tests,
# VS Code suites, packaging.
# Ends with one line "tests: N passed, N failed" over every suite.
set -uo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0

step() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc in $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ]; then status=1; fi
  return "$rc"
}

# Sums "N <word>" at the start of a line (mocha's "N passing" / "N failing").
mocha_count() { grep -aoE "^ *[0-9]+ $2" "$logs/$1.log" 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'; }
# The VS Code runner's own closing line: "vscode: N passed, N failed".
vscode_count() { grep -aoE "^vscode: [0-9]+ passed, [0-9]+ failed" "$logs/vscode.log" 2>/dev/null | tail -1 | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }

step setup bash scripts/setup.sh || { echo "setup failed; nothing else can run"; echo "tests: 0 passed, 1 failed"; exit 1; }
step build node scripts/build.mjs || { echo "tests: 0 passed, 1 failed"; exit 1; }
step typecheck npx --no-install tsc --noEmit -p .
step lint npx --no-install eslint src test bench scripts
step unit npx --no-install mocha
step conformance npx --no-install mocha --config .mocharc.conformance.json
step integration npx --no-install mocha --config .mocharc.integration.json
step property npx --no-install mocha --config .mocharc.property.json
step vscode node scripts/run-vscode-tests.mjs
step package npx --no-install vsce package --no-dependencies --out dist/sigstore-vscode.vsix

suites="unit conformance integration property"
passed=$(vscode_count passed)
failed=$(vscode_count failed)
for s in $suites; do
  passed=$((passed + $(mocha_count "$s" passing)))
  failed=$((failed + $(mocha_count "$s" failing)))
done
# A step that failed without failing a test (type check, lint, packaging) still fails the run.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
