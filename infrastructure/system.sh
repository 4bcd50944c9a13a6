# shellcheck shell=bash
# PostgreSQL and Redis come from the machine's own Debian packages and normally already run.
# `up` only checks them, and starts them with the machine's own tools if they are installed but down.
# Sourced by services.sh.

POSTGRES_HOST=127.0.0.1
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"

postgres_ready() {
  command -v pg_isready >/dev/null && pg_isready -q -h "${POSTGRES_HOST}" -p "${POSTGRES_PORT}" -t 2
}

redis_ready() {
  command -v redis-cli >/dev/null &&
    [[ "$(redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" ping 2>/dev/null)" == PONG ]]
}

# wait_for SECONDS CHECK...: poll a check that has no process of ours behind it.
wait_for() {
  local seconds="$1" deadline
  shift
  deadline=$(($(now) + seconds))
  until "$@"; do
    (($(now) >= deadline)) && return 1
    sleep 0.5
  done
}

postgres_up() {
  postgres_ready && return 0
  if ! command -v pg_ctlcluster >/dev/null || [[ -z "$(ls /etc/postgresql 2>/dev/null)" ]]; then
    warn "postgres: MISSING — nothing answers on ${POSTGRES_HOST}:${POSTGRES_PORT} and no PostgreSQL cluster is installed (apt-get install postgresql)"
    return 1
  fi
  say "postgres: not answering on ${POSTGRES_HOST}:${POSTGRES_PORT}; starting the local cluster"
  # shellcheck disable=SC2046 # one cluster version directory, e.g. 15
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start || true
  wait_for 30 postgres_ready && return 0
  warn "postgres: MISSING — started the cluster but ${POSTGRES_HOST}:${POSTGRES_PORT} still does not answer (see /var/log/postgresql/)"
  return 1
}

redis_up() {
  redis_ready && return 0
  if ! command -v redis-server >/dev/null; then
    warn "redis: MISSING — nothing answers on ${REDIS_HOST}:${REDIS_PORT} and redis-server is not installed (apt-get install redis-server)"
    return 1
  fi
  say "redis: not answering on ${REDIS_HOST}:${REDIS_PORT}; starting redis-server"
  # No persistence: it is a cache for tests.
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "${REDIS_PORT}" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for 15 redis_ready && return 0
  warn "redis: MISSING — started redis-server but ${REDIS_HOST}:${REDIS_PORT} still does not answer (see /var/log/redis/ci.log)"
  return 1
}

postgres_status() {
  local state=down rc=1
  postgres_ready && { state=up; rc=0; }
  printf 'postgres   %-5s %-22s %s\n' "${state}" "${POSTGRES_HOST}:${POSTGRES_PORT}" "system service, trust auth, database test"
  return "${rc}"
}

redis_status() {
  local state=down rc=1
  redis_ready && { state=up; rc=0; }
  printf 'redis      %-5s %-22s %s\n' "${state}" "${REDIS_HOST}:${REDIS_PORT}" "system service"
  return "${rc}"
}

postgres_env() { printf 'POSTGRES_URL=postgres://postgres@%s:%s/test\n' "${POSTGRES_HOST}" "${POSTGRES_PORT}"; }
redis_env() { printf 'REDIS_URL=redis://%s:%s\n' "${REDIS_HOST}" "${REDIS_PORT}"; }
