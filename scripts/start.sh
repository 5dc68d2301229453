#!/usr/bin/env bash
# `npm start`: serves the extension to a person in code-server (a real VS Code in the
# browser): installs what is missing, builds, packages the .vsix, installs it into a fresh
# extensions dir, starts the sandbox (local OpenID provider, Fulcio, Rekor, TSA), writes a
# demo workspace of signed/tampered files configured for it, and prints the URL.
# PORT (default 8080) picks the port; the server binds 127.0.0.1 only. Ctrl-C stops it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PORT:-8080}"
DEMO="$ROOT/.demo/workspace"
VSIX="$ROOT/dist/sigstore-vscode.vsix"

bash scripts/setup.sh
echo "[start] building"
node scripts/build.mjs

echo "[start] packaging $VSIX"
rm -f "$VSIX"
# No stdin, so vsce cannot stop to ask a question.
npx --no-install vsce package --no-dependencies --out "$VSIX" </dev/null

echo "[start] writing the demo workspace to $DEMO and starting the sandbox"
# exec: Ctrl-C reaches the launcher, which stops code-server and the sandbox and removes
# their state.
exec node scripts/demo.mjs "$DEMO" --port "$PORT" --vsix "$VSIX"
