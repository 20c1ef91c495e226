#!/usr/bin/env bash
# scripts/deploy/smoke-compose.sh: builds the three images and brings docker-compose.yml up for real,
# runs README's Node and R flows through the gateway (smoke-flows.mjs: factorial and matmul on the
# dedicated cpu worker group, /queues and /workers showing every group), checks that the R service
# refuses a call without the gateway's token (and answers /health without one), and takes everything
# down again, also when a step fails or on Ctrl-C. Prints how long each step took; exit 0 when the
# stack came up healthy and every check succeeded.
#
# For machines without a Docker engine (this project's CI and development machines): it runs compose
# through the podman kit in ../shared/podman (podman + Debian's docker-compose 1.29, with local
# stand-ins for the base images). The kit is that machine's harness, not part of Switchyard: nothing
# in the images or the compose file depends on it. Needs root (the kit runs rootful podman).
#
#   PODKIT=/path/to/kit      the kit's folder (default: shared/podman beside this repository)
#   SMOKE_KEEP=1             leave the stack up afterwards (take it down: $PODKIT/compose.sh down -v)
#   SMOKE_UP_TIMEOUT=300     seconds to wait for a healthy stack
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KIT=${PODKIT:-$ROOT/../shared/podman}
UP_TIMEOUT=${SMOKE_UP_TIMEOUT:-300}
export COMPOSE_PROJECT_NAME=switchyard-smoke

say() { printf '[smoke] %s\n' "$*"; }
die() { printf '[smoke] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

[ -x "$KIT/compose.sh" ] || die "the podman kit is not at $KIT (set PODKIT)"
[ "$(id -u)" = 0 ] || die "needs root (the podman kit runs rootful podman)"
command -v node >/dev/null || die "needs node"
cd "$ROOT"

started=$(now)
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" != 0 ]; then
    say "failed; the stack as it was:"
    "$KIT/compose.sh" ps || true
    "$KIT/compose.sh" logs --no-color --tail=40 || true
  fi
  if [ "${SMOKE_KEEP:-0}" = 1 ]; then
    say "left up (SMOKE_KEEP=1): gateway on $GATEWAY_URL; take it down with: cd $ROOT && COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT_NAME $KIT/compose.sh down -v"
  else
    local t
    t=$(now)
    "$KIT/compose.sh" down -v --remove-orphans >/dev/null 2>&1 || "$KIT/compose.sh" down -v --remove-orphans || true
    say "down -v: $(took "$t")"
  fi
  say "total: $(took "$started") ($([ "$status" = 0 ] && echo succeeded || echo FAILED))"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Settings for this run only: a free host port, a fresh password and R service token, short
# long_task steps.
GATEWAY_PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
REDIS_PASSWORD=smoke-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
R_SERVICE_TOKEN=smoke-$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
export GATEWAY_PORT REDIS_PASSWORD R_SERVICE_TOKEN LONG_TASK_STEP_MS=200
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"

t=$(now)
bash "$KIT/setup.sh" --quiet
# A stand-in for every base image the compose file runs or builds FROM.
{ "$KIT/compose.sh" needs || true; } | while read -r _ image; do
  case $image in
    node:*) kind=node ;;
    redis:*) kind=redis ;;
    debian:*) kind=debian ;;
    r-base:* | rocker/*) kind=r ;;
    *) die "no stand-in kind for base image $image" ;;
  esac
  bash "$KIT/standin.sh" "$image" "$kind" 2>&1 | sed 's/^/[smoke]   /'
done
"$KIT/compose.sh" needs >/dev/null || die "base images are missing (compose.sh needs)"
say "kit and base images: $(took "$t")"

# A stack left over from an interrupted run would hold the names and volume.
"$KIT/compose.sh" down -v --remove-orphans >/dev/null 2>&1 || true

t=$(now)
mkdir -p .switchyard
build_log=.switchyard/smoke-compose-build.log
if ! "$KIT/compose.sh" build >"$build_log" 2>&1; then
  tail -40 "$build_log" | sed 's/^/[smoke]   /'
  die "building the images failed (whole log: $build_log)"
fi
grep -E '^(redux|built) ' "$build_log" | sed 's/^/[smoke]   /' || true
say "build: $(took "$t") (log: $build_log)"

t=$(now)
"$KIT/compose.sh" up -d 2>&1 | sed 's/^/[smoke]   /'
# Healthy means every container's own health check passed: Redis, the gateway (ready: it reaches
# Redis), the Node workers of both groups (each in the worker registry with a fresh heartbeat) and
# the R worker (/health). Every container compose started: the replicas docker-compose.yml asks for.
deadline=$((SECONDS + UP_TIMEOUT))
expected=$("$KIT/compose.sh" ps -q | grep -c . || true)
[ "$expected" -ge 6 ] || die "compose started $expected containers, not the 6 of docker-compose.yml"
until [ "$("$KIT/compose.sh" ps | grep -c '(healthy)' || true)" = "$expected" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "the stack was not healthy after ${UP_TIMEOUT} s"
  fi
  if "$KIT/compose.sh" ps | grep -E 'Exit|unhealthy' >/dev/null; then
    die "a container exited or is unhealthy"
  fi
  sleep 1
done
"$KIT/compose.sh" ps | sed 's/^/[smoke]   /'
say "up and healthy: $(took "$t")"

t=$(now)
if ! GATEWAY_URL=$GATEWAY_URL node scripts/deploy/smoke-flows.mjs | sed 's/^/[smoke]   /'; then
  die "a flow failed"
fi
# Only the gateway may hand the R service tasks: without the token it answers 401, /health stays open.
# (From inside the gateway's container: the R service publishes no port.)
r_answers=$("$KIT/compose.sh" exec -T gateway node -e '
  const url = "http://r-worker:8000";
  const post = (headers) => fetch(`${url}/tasks`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" }).then((r) => r.status);
  Promise.all([post({}), post({ authorization: "Bearer not-the-token-not-the-token-not-the-token" }), fetch(`${url}/health`).then((r) => r.status)])
    .then((s) => console.log(s.join(" ")), (e) => { console.log(String(e)); process.exit(1); });') ||
  die "could not call the R service from the gateway's container: $r_answers"
[ "$r_answers" = "401 401 200" ] ||
  die "the R service answered (no token, wrong token, /health) $r_answers, not 401 401 200"
say "R service: 401 without the token, 401 with a wrong one, /health 200"
# The R worker's SIGTERM handler came precompiled with the image (graceful `docker stop`).
# (grep reads all of the logs: `grep -q` would end the pipe early and fail it under pipefail.)
"$KIT/compose.sh" logs --no-color r-worker | grep '"sigterm_handled":true' >/dev/null ||
  die "the R worker does not handle SIGTERM (its image did not precompile src/sigterm.c?)"
say "flows: $(took "$t")"
