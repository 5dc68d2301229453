#!/usr/bin/env bash
# Installs the independent peers the integration tests check us against: cosign and oras,
# as Debian trixie packages them (static binaries that run on bookworm), unpacked into
# .tools/ of the repo (see docs TESTING.md §3). The system's apt setup is left alone: a
# private APT_CONFIG with its own state, cache and sources list. Idempotent; no root needed
# for the packages themselves, only network access to the Debian archive.
set -euo pipefail

# The versions the tests were written against; another version fails loudly rather than
# silently changing what "cosign agrees" means.
COSIGN_VERSION=2.5.0
ORAS_VERSION=1.2.0
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

log() { printf '[install-tools] %s\n' "$*"; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

MARKER="$TOOLS/.versions"

# Debian's cosign is built without version stamping (`cosign version` says "GitVersion:
# devel"), so the version is recorded from the package we unpacked, in $MARKER.
installed_ok() {
  [[ -x "$TOOLS/usr/bin/cosign" && -x "$TOOLS/usr/bin/oras" && -f "$MARKER" ]] || return 1
  grep -q "^cosign $COSIGN_VERSION-" "$MARKER" && grep -q "^oras $ORAS_VERSION-" "$MARKER" || return 1
  "$TOOLS/usr/bin/cosign" version >/dev/null 2>&1 || return 1
  "$TOOLS/usr/bin/oras" version 2>/dev/null | grep -Eq "^Version:[[:space:]]+$ORAS_VERSION([^0-9.]|$)" || return 1
}

if installed_ok; then
  log "cosign $COSIGN_VERSION and oras $ORAS_VERSION already in $TOOLS/usr/bin"
  exit 0
fi

for cmd in apt-get apt-cache dpkg-deb; do
  command -v "$cmd" >/dev/null || die "$cmd not found (this script needs a Debian-based system)"
done
[[ -r "$KEYRING" ]] || die "$KEYRING missing: install the debian-archive-keyring package"

# The Debian mirror this machine's apt already uses (so a local mirror or proxy keeps
# working): the first URI of an enabled source that serves the main archive, not the
# security one. DEBIAN_MIRROR overrides it.
find_mirror() {
  local f uri
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    # deb822: URIs: lines; skip security archives and non-Debian repositories.
    while read -r uri; do
      [[ "$uri" == */debian || "$uri" == */debian/ ]] && { echo "${uri%/}"; return 0; }
    done < <(sed -nE 's/^[Uu][Rr][Ii][Ss]:[[:space:]]*//p' "$f" | tr ' \t' '\n\n' | grep -v '^$')
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    # one-line format: deb [options] URI suite components
    while read -r uri; do
      [[ "$uri" == */debian || "$uri" == */debian/ ]] && { echo "${uri%/}"; return 0; }
    done < <(sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1=="deb" { print $2 }')
  done
  return 1
}
MIRROR="${DEBIAN_MIRROR:-$(find_mirror || true)}"
[[ -n "$MIRROR" ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR=http://deb.debian.org/debian"
log "Debian mirror: $MIRROR ($SUITE)"

# Private apt world: lists, cache and dpkg status of our own, sources from our list only.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/state/lists/partial" "$WORK/cache/archives/partial" "$WORK/sources.list.d" "$WORK/debs"
: >"$WORK/status"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$WORK/sources.list"
cat >"$WORK/apt.conf" <<EOF
Dir::State "$WORK/state";
Dir::State::status "$WORK/status";
Dir::Cache "$WORK/cache";
Dir::Etc::SourceList "$WORK/sources.list";
Dir::Etc::SourceParts "$WORK/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$WORK/sources.list.d";
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
export APT_CONFIG="$WORK/apt.conf"

log "apt-get update (private lists)"
apt-get update -q >"$WORK/update.log" 2>&1 || { cat "$WORK/update.log" >&2; die "apt-get update of $SUITE failed"; }

# Pin: the candidate trixie serves must be the upstream version we test with.
candidate() { apt-cache policy "$1" | awk '/Candidate:/ { print $2 }'; }
COSIGN_DEB_VERSION=$(candidate cosign)
ORAS_DEB_VERSION=$(candidate oras)
[[ "$COSIGN_DEB_VERSION" == "$COSIGN_VERSION"-* ]] ||
  die "$SUITE serves cosign ${COSIGN_DEB_VERSION:-(none)}, not $COSIGN_VERSION; update COSIGN_VERSION here and re-check the integration tests"
[[ "$ORAS_DEB_VERSION" == "$ORAS_VERSION"-* ]] ||
  die "$SUITE serves oras ${ORAS_DEB_VERSION:-(none)}, not $ORAS_VERSION; update ORAS_VERSION here and re-check the integration tests"

log "apt-get download cosign=$COSIGN_DEB_VERSION oras=$ORAS_DEB_VERSION"
(cd "$WORK/debs" && apt-get download -q "cosign=$COSIGN_DEB_VERSION" "oras=$ORAS_DEB_VERSION" >"$WORK/download.log" 2>&1) ||
  { cat "$WORK/download.log" >&2; die "apt-get download failed"; }

mkdir -p "$TOOLS"
rm -f "$MARKER"
for deb in "$WORK"/debs/*.deb; do
  log "unpacking $(basename "$deb")"
  dpkg-deb -x "$deb" "$TOOLS"
done
printf 'cosign %s\noras %s\n' "$COSIGN_DEB_VERSION" "$ORAS_DEB_VERSION" >"$MARKER"

installed_ok || die "unpacked, but $TOOLS/usr/bin/cosign or oras does not run or does not report oras $ORAS_VERSION"
log "done: cosign $COSIGN_DEB_VERSION, oras $ORAS_DEB_VERSION in $TOOLS/usr/bin"
