#!/usr/bin/env bash
# Installs what the VS Code integration tests and `npm start` need on a fresh machine:
# Debian packages (build deps of code-server's native modules, ripgrep, Chromium, the test registry) and a
# runnable code-server in .vscode-test/ (see docs TESTING.md §1). Idempotent; runs as
# root with no stdin (CI). Offline-safe: only the npm registry and Debian's archive.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.vscode-test/code-server-$CODE_SERVER_VERSION"
MARKER="$CACHE/.setup-complete"
# docker-registry (distribution 2.8), apache2-utils (htpasswd) and openssl: the registry the
# integration tests start (test/support/registry.ts, TESTING.md §2).
APT_PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium gnupg docker-registry apache2-utils openssl)
NATIVE_MODULES=(kerberos node-pty @parcel/watcher @vscode/deviceid @vscode/spdlog native-watchdog)

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the lists only when some package has no install candidate (fresh machine).
  need_update=0
  for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n "$cand" && "$cand" != "(none)" ]] || need_update=1
  done
  ((need_update)) && apt-get update -q
  # Stale lists give 404s on download: refresh once and retry.
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; }
else
  log "Debian packages already installed"
fi

# --- cosign and oras, the independent peers of the integration tests (TESTING.md §3) ---
bash "$ROOT/scripts/install-tools.sh"

# --- 2..4. code-server cache ----------------------------------------------------------
if [[ -f "$MARKER" ]]; then
  log "code-server $CODE_SERVER_VERSION cache complete ($CACHE)"
  exit 0
fi

# node-gyp cannot download Node's headers offline: point it at the installed ones.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/common.gypi ]]; then
  export npm_config_nodedir=/usr
fi
gyp_args=()
[[ -n "${npm_config_nodedir:-}" ]] && gyp_args+=("--nodedir=$npm_config_nodedir")

mkdir -p "$CACHE"
cd "$CACHE"
# Without a package.json here npm would walk up and install into the repo itself.
[[ -f package.json ]] || echo '{ "private": true }' >package.json

log "npm install code-server@$CODE_SERVER_VERSION (scripts off: its postinstall needs GitHub)"
npm install --ignore-scripts --no-audit --no-fund "code-server@$CODE_SERVER_VERSION"

CS="$CACHE/node_modules/code-server"
VS="$CS/lib/vscode"
[[ -d "$VS" ]] || die "code-server package has no lib/vscode"

log "npm install in lib/vscode"
(cd "$VS" && npm install --omit=dev --ignore-scripts --no-audit --no-fund)

# @vscode/ripgrep normally downloads rg from GitHub; Debian's is equivalent.
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
cp -f /usr/bin/rg "$VS/node_modules/@vscode/ripgrep/bin/rg"

# Fails loudly unless the build produced .node files and the package (whose main loads
# its binding) can be required. Not every .node is dlopen-able on its own: deviceid's
# windows.node is an empty stub on Linux.
check_native() {
  local dir=$1 out=$2
  # (A test of find's output, not `find | grep -q`: with pipefail, SIGPIPE would fail it.)
  [[ -n "$(find "$dir/$out" -name '*.node' -size +0 2>/dev/null)" ]] ||
    die "no $out/**/*.node in $dir after the build"
  node -e 'require(process.argv[1])' "$dir" || die "$dir does not load after the build"
}

for m in "${NATIVE_MODULES[@]}"; do
  dir="$VS/node_modules/$m"
  [[ -d "$dir" ]] || die "missing $dir"
  log "node-gyp rebuild $m"
  (cd "$dir" && npx --yes node-gyp rebuild "${gyp_args[@]}" >"$CACHE/node-gyp-${m//\//_}.log" 2>&1) ||
    { tail -n 40 "$CACHE/node-gyp-${m//\//_}.log" >&2; die "node-gyp rebuild failed in $m"; }
  check_native "$dir" build/Release
done

# The links code-server's postinstall would have made.
ln -sfn node_modules "$VS/node_modules.asar"
ln -sfn code-linux.sh "$VS/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VS/bin/helpers/browser.sh"

log "npm install in lib/vscode/extensions"
(cd "$VS/extensions" && npm install --omit=dev --ignore-scripts --no-audit --no-fund)

log "npm rebuild argon2 --build-from-source"
npm rebuild argon2 --build-from-source --foreground-scripts >"$CACHE/argon2-rebuild.log" 2>&1 ||
  { tail -n 40 "$CACHE/argon2-rebuild.log" >&2; die "npm rebuild argon2 failed"; }
argon2_dir="$CACHE/node_modules/argon2"
[[ -d "$argon2_dir" ]] || die "argon2 is not installed under $CACHE"
# npm 11 may skip unapproved install scripts: build directly if nothing came out.
# (argon2 uses node-pre-gyp, which puts the binary in lib/binding/.)
if [[ -z "$(find "$argon2_dir/lib/binding" -name '*.node' 2>/dev/null)" ]]; then
  log "npm rebuild produced no argon2 binary; running node-pre-gyp directly"
  (cd "$argon2_dir" && "$CACHE/node_modules/.bin/node-pre-gyp" rebuild --build-from-source "${gyp_args[@]}")
fi
check_native "$argon2_dir" lib/binding

node "$CS/out/node/entry.js" --version >/dev/null || die "code-server does not start"

date -u +%FT%TZ >"$MARKER"
log "done: code-server $CODE_SERVER_VERSION in $CACHE"
