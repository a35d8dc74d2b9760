#!/bin/sh
# The browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core; never a
# browser downloaded by `playwright install` (these machines have no internet beyond the Debian
# mirror). Installed here when missing and we are root (as .ci/run is); otherwise a clear failure.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing; installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends chromium >&2
  if [ -x /usr/bin/chromium ]; then
    exit 0
  fi
  echo "ensure-chromium: apt-get install chromium finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
echo "ensure-chromium: the browser tests need /usr/bin/chromium (Debian: apt-get install chromium, as root); it is missing and this user ($(id -un)) cannot install it" >&2
exit 1
