#!/usr/bin/env bash
# Redis on 127.0.0.1:6379 for the tests that share rate limits through it
# (test/server/rate-limit-redis.test.ts; without Redis they are skipped and say so).
# Does nothing when a Redis already answers there; otherwise installs Debian's
# redis-server if it is missing and starts it the way the node-svc machine does
# (no persistence, loopback only). Never fails the caller: a Redis that cannot be
# had means skipped tests, reported by the test run itself.
set -u

ping_redis() {
  # bash's /dev/tcp, so the check needs no redis-cli
  { exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && IFS= read -r -t 1 line <&3 && exec 3>&-; } 2>/dev/null || return 1
  [[ "$line" == "+PONG"* ]]
}

if ping_redis; then
  echo "ensure-redis: Redis already answers on 127.0.0.1:6379"
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: installing Debian's redis-server"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >/dev/null 2>&1; then
    echo "ensure-redis: could not install redis-server; the Redis tests will be skipped"
    exit 0
  fi
fi

mkdir -p /var/lib/redis /var/log/redis
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1
for _ in $(seq 1 50); do
  if ping_redis; then
    echo "ensure-redis: started Redis on 127.0.0.1:6379"
    exit 0
  fi
  sleep 0.1
done
echo "ensure-redis: Redis did not start; the Redis tests will be skipped"
exit 0
