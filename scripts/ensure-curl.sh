#!/usr/bin/env bash
# The curl binary for the docs' curl examples (test/docs-examples.test.ts runs every
# curl command of README.md and docs/graph-format.md against a listening service;
# without curl those tests are skipped and say so). Does nothing when curl is
# there; otherwise installs Debian's curl package. Never fails the caller: a curl
# that cannot be had means skipped tests, reported by the test run itself.
set -u

if command -v curl >/dev/null 2>&1; then
  echo "ensure-curl: $(curl --version | head -1 | cut -d' ' -f1-2) is installed"
  exit 0
fi
echo "ensure-curl: installing Debian's curl"
if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends curl; } >/dev/null 2>&1; then
  echo "ensure-curl: installed $(curl --version | head -1 | cut -d' ' -f1-2)"
else
  echo "ensure-curl: could not install curl; the curl examples will be skipped"
fi
exit 0
