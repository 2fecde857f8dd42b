#!/usr/bin/env bash
# Debian's Chromium at /usr/bin/chromium for the browser test
# (test/server/security-headers.test.ts renders the Swagger UI page under the CSP;
# without Chromium it is skipped and says so). Does nothing when it is there;
# otherwise installs Debian's chromium package. Never fails the caller: a browser
# that cannot be had means a skipped test, reported by the test run itself.
set -u

if [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium"
if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1; then
  echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "ensure-chromium: could not install chromium; the browser test will be skipped"
fi
exit 0
