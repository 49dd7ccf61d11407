#!/usr/bin/env bash
# The benchmarks' load generator: Debian's wrk (the browser comes from install-browser.sh).
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "wrk is missing: run 'sudo apt-get install wrk' (the write-path benchmark needs it)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
