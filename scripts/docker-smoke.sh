#!/usr/bin/env bash
# Builds the image, runs it, and checks it as an operator would:
#   /readyz answers, the seed Jacobian matches the analytic derivative (scripts/smoke.mjs),
#   the process runs as a non-root user, the HEALTHCHECK turns healthy, and `docker stop`
#   ends it with exit code 0 within 10 s.
# Works on any machine with Docker. DOCKER_NETWORK=host builds and runs with host
# networking (for daemons without a bridge); PORT picks the port (default 18180);
# NODE_VERSION is passed as the build argument of that name (default: the Dockerfile's,
# 24). The offline development machine only has node:20-bookworm-slim, so there:
#   DOCKER_NETWORK=host NODE_VERSION=20 npm run smoke:docker
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-derivd:latest}
NAME=${NAME:-derivd-smoke-$$}
PORT=${PORT:-18180}
NETWORK=${DOCKER_NETWORK:-}
NODE_VERSION=${NODE_VERSION:-}

fail() { echo "docker-smoke: FAIL: $*" >&2; exit 1; }
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

command -v docker >/dev/null || fail "docker is not installed"
docker info >/dev/null 2>&1 || fail "no Docker daemon answers (docker info failed)"

echo "docker-smoke: building $IMAGE${NODE_VERSION:+ on Node.js $NODE_VERSION}"
docker build ${NETWORK:+--network "$NETWORK"} ${NODE_VERSION:+--build-arg NODE_VERSION="$NODE_VERSION"} -t "$IMAGE" . >/tmp/docker-smoke-build.log 2>&1 \
  || { tail -30 /tmp/docker-smoke-build.log; fail "docker build failed (log: /tmp/docker-smoke-build.log)"; }
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
echo "docker-smoke: image size $((size / 1024 / 1024)) MiB"

if [ "$NETWORK" = host ]; then
  docker run -d --name "$NAME" --network host -e PORT="$PORT" -e HOST=127.0.0.1 "$IMAGE" >/dev/null
else
  docker run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" "$IMAGE" >/dev/null
fi

node scripts/smoke.mjs "http://127.0.0.1:$PORT" || { docker logs "$NAME" | tail -20; fail "the service did not answer correctly"; }

user=$(docker exec "$NAME" id -u)
[ "$user" != 0 ] || fail "the container runs as root"
echo "docker-smoke: runs as uid $user ($(docker exec "$NAME" id -un))"

status=""
for _ in $(seq 1 60); do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$NAME")
  [ "$status" = healthy ] && break
  sleep 1
done
[ "$status" = healthy ] || fail "HEALTHCHECK did not turn healthy within 60 s (status: $status)"
echo "docker-smoke: HEALTHCHECK healthy"

start=$(date +%s%N)
docker stop -t 10 "$NAME" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$(docker inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || { docker logs "$NAME" | tail -20; fail "exit code $code after docker stop (expected 0)"; }
[ "$elapsed_ms" -lt 10000 ] || fail "docker stop took ${elapsed_ms} ms (expected under 10 s)"
echo "docker-smoke: docker stop: exit code 0 after ${elapsed_ms} ms"
echo "docker-smoke: ok"
