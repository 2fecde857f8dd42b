#!/usr/bin/env bash
# Load-balancer smoke test: 3 derivd replicas behind nginx, all on 127.0.0.1, using
# deploy/nginx/derivd.conf.template rendered for local upstreams (the same file
# Compose runs, but for the upstream list). Checks:
#   0. deploy/nginx/derivd.compose.conf is the current rendering of the template;
#   1. through nginx: scripts/smoke.mjs passes, X-Request-Id is kept or made, and a
#      body over 16 MiB gets nginx's 413 problem;
#   2. N seed-Jacobian POSTs all get 200, and every replica's /metrics shows it
#      served some of them (the counts add up to N);
#   3. N more, during which one replica is SIGKILLed mid-stream: all still get 200
#      (nginx retries the idempotent POST on another replica), nginx's log shows the
#      retries, and afterwards the two survivors serve everything.
# Bounded: every step has a timeout; the replicas and nginx are stopped on exit.
#
# Usage: bash scripts/lb-smoke.sh       (npm run smoke:lb)
# Environment: LB_SMOKE_PORT_BASE (18100: nginx there, replicas on the next 3 ports),
#   LB_SMOKE_REQUESTS (300), LB_SMOKE_CONCURRENCY (6), NGINX (path to nginx; default
#   from PATH or /usr/sbin/nginx, installed with apt-get when missing and root).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASE_PORT=${LB_SMOKE_PORT_BASE:-18100}
REQUESTS=${LB_SMOKE_REQUESTS:-300}
CONCURRENCY=${LB_SMOKE_CONCURRENCY:-6}
AFTER_KILL=60
LB_PORT=$BASE_PORT
REPLICA_PORTS=("$((BASE_PORT + 1))" "$((BASE_PORT + 2))" "$((BASE_PORT + 3))")
LB="http://127.0.0.1:$LB_PORT"
REPLICAS=()
for p in "${REPLICA_PORTS[@]}"; do REPLICAS+=("http://127.0.0.1:$p"); done
VICTIM=1 # index of the replica killed in step 3

say() { printf 'lb-smoke: %s\n' "$*"; }
die() {
  printf 'lb-smoke: FAIL: %s\n' "$*" >&2
  exit 1
}

TMP=""
NGINX_PID=""
DERIVD_PIDS=()

stop_pid() { # pid signal: signal it, give it 5 s, then SIGKILL; reap it
  local pid=$1 sig=$2 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill "-$sig" "$pid" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$? f
  set +e
  exec 2>&3
  trap - EXIT INT TERM
  [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID" QUIT
  for pid in "${DERIVD_PIDS[@]}"; do stop_pid "$pid" TERM; done
  if [[ $rc -ne 0 && -n $TMP ]]; then
    for f in "$TMP"/nginx-error.log "$TMP"/derivd-*.log; do
      [[ -s $f ]] && { echo "--- last lines of $(basename "$f")"; tail -n 15 "$f"; }
    done >&2
    [[ -s $TMP/nginx-access.log ]] && { echo "--- last lines of nginx's access log"; tail -n 5 "$TMP/nginx-access.log"; } >&2
    echo "lb-smoke: FAILED (exit $rc)" >&2
  fi
  [[ -n $TMP ]] && rm -rf "$TMP"
  exit "$rc"
}
exec 3>&2 # the real stderr, for the steps that silence bash's job notices
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v node >/dev/null || die "node is not on PATH (Node.js 20.19 or later is needed)"
command -v timeout >/dev/null || die "timeout (coreutils) is not on PATH"
helper() { timeout 150 node scripts/lb-load.mjs "$@"; }

# --- nginx: Debian's, installed when missing (its service is not started) ----------
find_nginx() {
  if [[ -n ${NGINX:-} ]]; then return 0; fi
  NGINX=$(command -v nginx || true)
  [[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
  return 0
}
find_nginx
if [[ -z $NGINX || ! -x $NGINX ]]; then
  how="install it: sudo apt-get update && sudo apt-get install -y nginx-light (Debian/Ubuntu), or set NGINX=/path/to/nginx"
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then die "nginx is not installed; $how"; fi
  say "nginx is not installed: installing Debian's nginx-light with apt-get (its service is not started)"
  guard=""
  # Keep the package's post-install from starting nginx's default site on port 80.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1
  fi
  install_log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  ok=0
  if timeout 300 apt-get install -y -q --no-install-recommends nginx-light >"$install_log" 2>&1 \
    || { timeout 300 apt-get update -q >>"$install_log" 2>&1 \
      && { timeout 300 apt-get install -y -q --no-install-recommends nginx-light >>"$install_log" 2>&1 \
        || timeout 300 apt-get install -y -q --no-install-recommends nginx >>"$install_log" 2>&1; }; }; then ok=1; fi
  [[ -n $guard ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $ok -ne 1 ]]; then
    tail -n 10 "$install_log" >&2
    rm -f "$install_log"
    die "could not install nginx with apt-get; $how"
  fi
  rm -f "$install_log"
  NGINX=""
  find_nginx
  [[ -n $NGINX && -x $NGINX ]] || die "nginx is still not found after apt-get install; $how"
fi
say "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') ($NGINX)"

# --- 0. the committed Compose rendering is current -----------------------------------
sh deploy/nginx/render.sh check >/dev/null || die "deploy/nginx/derivd.compose.conf is stale (diff above); run: sh deploy/nginx/render.sh compose > deploy/nginx/derivd.compose.conf"
say "deploy/nginx/derivd.compose.conf is the current rendering of the template"

# --- build dist/ if needed (npm ci when node_modules is stale; tsc = npm run build) --
timeout 600 node scripts/bootstrap.mjs build

# --- ports ----------------------------------------------------------------------------
for p in "$LB_PORT" "${REPLICA_PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "127.0.0.1:$p is already in use; pick other ports with LB_SMOKE_PORT_BASE=N (uses N..N+3)"
  fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/derivd-lb-smoke.XXXXXX")
chmod 755 "$TMP" # nginx's workers (nobody, when started as root) create temp files below it

# --- 3 replicas ---------------------------------------------------------------------
for i in 0 1 2; do
  PORT=${REPLICA_PORTS[$i]} HOST=127.0.0.1 LOG_LEVEL=warn WORKERS=0 SHUTDOWN_TIMEOUT_MS=3000 \
    node dist/server/main.js >"$TMP/derivd-$((i + 1)).log" 2>&1 &
  DERIVD_PIDS+=("$!")
done

# --- nginx, in the foreground of a background job, everything under $TMP -------------
servers=()
for p in "${REPLICA_PORTS[@]}"; do servers+=("127.0.0.1:$p"); done
sh deploy/nginx/render.sh local "${servers[@]}" --listen "127.0.0.1:$LB_PORT" >"$TMP/derivd.conf"
temp_paths="client_body_temp_path $TMP/client_body; proxy_temp_path $TMP/proxy;"
for m in fastcgi uwsgi scgi; do
  "$NGINX" -V 2>&1 | grep -q -- "--without-http_${m}_module" || temp_paths+=" ${m}_temp_path $TMP/$m;"
done
cat >"$TMP/nginx.conf" <<EOF
# lb-smoke's wrapper: the http-context file under test is derivd.conf, included below.
daemon off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 512; }
http {
    $temp_paths
    include $TMP/derivd.conf;
}
EOF
nginx_args=(-p "$TMP/" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log")
"$NGINX" -t -q "${nginx_args[@]}" || die "nginx -t rejected the local rendering ($TMP/derivd.conf)"
# The access log (/dev/stdout in the template) lands in nginx-access.log.
"$NGINX" "${nginx_args[@]}" >"$TMP/nginx-access.log" 2>>"$TMP/nginx-error.log" &
NGINX_PID=$!

helper wait "${REPLICAS[@]/%//readyz}" "$LB/lb-healthz" "$LB/readyz"
say "3 replicas (${REPLICA_PORTS[*]}, pids ${DERIVD_PIDS[*]}) ready behind nginx on 127.0.0.1:$LB_PORT"

# --- 1. end to end through the LB ----------------------------------------------------
timeout 90 node scripts/smoke.mjs "$LB"
say "$(helper checks "$LB")"

# --- 2. spread over the replicas ---------------------------------------------------
read -r -a before <<<"$(helper counts "${REPLICAS[@]}")"
say "step 2: $(helper load "$LB" "$REQUESTS" "$CONCURRENCY")"
read -r -a after <<<"$(helper counts "${REPLICAS[@]}")"
sum=0
spread=()
for i in 0 1 2; do
  d=$((after[i] - before[i]))
  spread+=("${REPLICA_PORTS[$i]}:$d")
  sum=$((sum + d))
  [[ $d -gt 0 ]] || die "replica on port ${REPLICA_PORTS[$i]} served none of the $REQUESTS requests (per replica: ${spread[*]})"
done
[[ $sum -eq $REQUESTS ]] || die "the replicas' /metrics count $sum Jacobian 200s, not $REQUESTS (per replica: ${spread[*]})"
say "step 2: per-replica derivd_http_requests_total{route=\"/v1/jacobian\",status=\"200\"} deltas: ${spread[*]} (sum $sum)"

# --- 3. one replica SIGKILLed mid-stream ---------------------------------------------
victim_pid=${DERIVD_PIDS[$VICTIM]}
victim_port=${REPLICA_PORTS[$VICTIM]}
read -r -a before <<<"$(helper counts "${REPLICAS[@]}")"
log_lines=$(wc -l <"$TMP/nginx-access.log")
# (bash's own "Killed" notice for the victim goes to /dev/null; the helper's errors to fd 3)
{
  step3=$(helper load "$LB" "$REQUESTS" "$CONCURRENCY" --kill "$victim_pid" --kill-after "$((REQUESTS / 3))" 2>&3)
  sleep 0.2
  wait "$victim_pid" || true
} 2>/dev/null
say "step 3: $step3"
kill -0 "$victim_pid" 2>/dev/null && die "replica pid $victim_pid is still alive after SIGKILL"
# nginx logs a retried request as upstream=A, B with upstream_status=S1, S2.
tail -n "+$((log_lines + 1))" "$TMP/nginx-access.log" >"$TMP/step3-access.log"
retried=$(grep -c 'upstream=[^ ]*, ' "$TMP/step3-access.log" || true)
[[ $retried -gt 0 ]] || die "nginx's log shows no retried request: the kill did not exercise the failover"
tries=$(grep -o 'upstream_status=[0-9]*, [0-9, ]*' "$TMP/step3-access.log" | sed 's/upstream_status=//; s/ *$//' | sort | uniq -c |
  awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s%s x%d", sep, $0, n; sep = "; " }')
say "step 3: nginx retried $retried request(s) on another replica (upstream statuses per try: $tries)"
read -r -a mid <<<"$(helper counts "${REPLICAS[@]}")"
[[ ${mid[$VICTIM]} == down ]] || die "the killed replica's /metrics still answers"

# ... and the survivors carry on alone.
say "step 3: after the kill: $(helper load "$LB" "$AFTER_KILL" "$CONCURRENCY")"
read -r -a after <<<"$(helper counts "${REPLICAS[@]}")"
sum=0
spread=()
for i in 0 1 2; do
  [[ $i -eq $VICTIM ]] && { spread+=("${REPLICA_PORTS[$i]}:killed"); continue; }
  d=$((after[i] - mid[i]))
  spread+=("${REPLICA_PORTS[$i]}:$d")
  sum=$((sum + d))
  [[ $d -gt 0 ]] || die "surviving replica on port ${REPLICA_PORTS[$i]} served none of the $AFTER_KILL requests after the kill (${spread[*]})"
done
[[ $sum -eq $AFTER_KILL ]] || die "the survivors count $sum Jacobian 200s after the kill, not $AFTER_KILL (${spread[*]})"
say "step 3: survivors after the kill: ${spread[*]} (sum $sum)"

say "PASS: nginx spread $REQUESTS POSTs over 3 replicas, and lost none of $REQUESTS when the replica on port $victim_port was SIGKILLed mid-stream"
