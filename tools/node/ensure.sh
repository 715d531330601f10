#!/usr/bin/env bash
# Make the Node.js peer in tools/node ready to run. Idempotent and quiet.
#
#   exit 0  ready (node present, node_modules matches package-lock.json)
#   exit 3  node (or npm, when an install is needed) is missing or too old
#   exit 4  `npm ci` failed (its log is printed to stderr)
#
# Safe to call from many test processes at once: the install runs under a lock.
set -u

src="${BASH_SOURCE[0]}"
case "$src" in */*) here="${src%/*}" ;; *) here=. ;; esac
here="$(cd "$here" && pwd)"
cd "$here" || exit 4

loud() {
  {
    echo
    echo "=================================================================="
    echo "  tools/node/ensure.sh: $*"
    echo "  The Node.js peer (IPN compatibility tests and benchmarks) needs"
    echo "  Node.js >= 20 with npm on PATH, e.g.: apt-get install nodejs npm"
    echo "=================================================================="
    echo
  } >&2
}

if ! command -v node >/dev/null 2>&1; then
  loud "'node' NOT FOUND on PATH"
  exit 3
fi
stamp="node_modules/.smartex-ensure-stamp"

# One node start: "<major> <fingerprint of package.json + package-lock.json> <stamp>".
probe() {
  node -e '
    const fs = require("fs");
    const h = require("crypto").createHash("sha256");
    let want;
    try {
      for (const f of ["package.json", "package-lock.json"]) h.update(fs.readFileSync(f));
      want = h.digest("hex");
    } catch { want = "no-package-files"; }
    let stamp = "-";
    try { if (fs.existsSync("node_modules/qs/package.json")) stamp = fs.readFileSync(process.argv[1], "utf8").trim() || "-"; } catch {}
    process.stdout.write(process.versions.node.split(".")[0] + " " + want + " " + stamp);
  ' "$stamp" 2>/dev/null
}

read -r major want stamped <<<"$(probe)"
if ! [[ "${major:-}" =~ ^[0-9]+$ ]]; then
  loud "'node' on PATH does not run ($(command -v node))"
  exit 3
fi
if (( major < 18 )); then
  loud "node $(node --version 2>/dev/null) is TOO OLD (need >= 20)"
  exit 3
fi
if (( major < 20 )); then
  echo "tools/node/ensure.sh: warning: node $(node --version) is older than 20, the tested version" >&2
fi

ready() {
  local m
  read -r m want stamped <<<"$(probe)"
  [[ "$stamped" == "$want" ]]
}

[[ "$stamped" == "$want" ]] && exit 0

install() {
  ready && return 0 # someone else installed while we waited for the lock
  if ! command -v npm >/dev/null 2>&1; then
    loud "'npm' NOT FOUND on PATH (needed to install qs)"
    return 3
  fi
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/smartex-npm-ci.XXXXXX")"
  if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    echo "tools/node/ensure.sh: 'npm ci' FAILED in $here:" >&2
    cat "$log" >&2
    rm -f "$log"
    return 4
  fi
  rm -f "$log"
  printf '%s\n' "$want" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
  if ! ready; then
    echo "tools/node/ensure.sh: 'npm ci' succeeded but node_modules/qs is still missing" >&2
    return 4
  fi
  return 0
}

lockfile="${TMPDIR:-/tmp}/smartex-node-peer-$(printf '%s' "$here" | cksum | cut -d' ' -f1).lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$lockfile"
  flock 9
  install
  rc=$?
  flock -u 9
  exit "$rc"
else
  # No flock: fall back to a mkdir lock (atomic), waiting up to ~5 minutes.
  lockdir="$lockfile.d"
  for _ in $(seq 1 3000); do
    if mkdir "$lockdir" 2>/dev/null; then
      trap 'rmdir "$lockdir" 2>/dev/null' EXIT
      install
      exit $?
    fi
    sleep 0.1
  done
  echo "tools/node/ensure.sh: timed out waiting for $lockdir" >&2
  exit 4
fi
