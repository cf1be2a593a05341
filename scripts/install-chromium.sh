#!/usr/bin/env bash
# Headless Chromium for the dashboard test (tests/test_dashboard.py opens the page in a real
# browser). Idempotent: does nothing when `chromium` is already on PATH.
#
#   scripts/install-chromium.sh    as root: installs the Debian/Ubuntu packages with apt-get
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium already installed: $(command -v chromium)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver
  command -v chromium >/dev/null 2>&1 || { echo "chromium still not on PATH after install" >&2; exit 1; }
  echo "chromium installed: $(command -v chromium)"
else
  cat >&2 <<'MSG'
chromium is not on PATH and this script is not running as root. Install it with:
  sudo apt-get update && sudo apt-get install -y chromium chromium-driver
or run: sudo scripts/install-chromium.sh
MSG
  exit 1
fi
