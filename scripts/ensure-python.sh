#!/usr/bin/env bash
# python3 (3.9 or later) for the Python client's tests (test/clients/python.test.ts and
# test/readme-clients.test.ts run clients/python against a listening service; without
# python3 those tests are skipped and say so). Does nothing when it is there; otherwise
# installs Debian's python3. Never fails the caller: a python3 that cannot be had means
# skipped tests, reported by the test run itself.
set -u

if python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' >/dev/null 2>&1; then
  echo "ensure-python: $(python3 --version) is installed"
  exit 0
fi
echo "ensure-python: installing Debian's python3"
if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends python3; } >/dev/null 2>&1; then
  echo "ensure-python: installed $(python3 --version)"
else
  echo "ensure-python: could not install python3; the Python client tests will be skipped"
fi
exit 0
