#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts, natively (no Docker engine on the development and CI machines), the services that the
# integration tests need, on 127.0.0.1 — the same addresses as docker-compose.yml:
#
#   kafka      127.0.0.1:9092   Apache Kafka 4.x, one KRaft node (controller on 127.0.0.1:9093)
#   apicurio   127.0.0.1:8081   Apicurio Registry, Confluent API at /apis/ccompat/v7, in memory
#   neo4j      127.0.0.1:7687   Neo4j 5.26 Community over Bolt, auth disabled
#   postgres   127.0.0.1:5432   the machine's PostgreSQL (checked, started if installed but down)
#   redis      127.0.0.1:6379   the machine's Redis (checked, started if installed but down)
#
# Usage: infrastructure/services.sh up|down|status|env|stop NAME|start NAME
#   up      fetch jars from Maven Central (once, into .cache/), start what is not running, wait until
#           every service answers, print the addresses. A second `up` is a quick no-op.
#   down    stop what `up` started (pid files in .cache/services/run/). Postgres and Redis are left
#           alone: they belong to the machine.
#   status  one line per service; exits 1 if any is down.
#   env     the addresses as VAR=value lines, for `set -a; source <(infrastructure/services.sh env)`.
#   stop NAME, start NAME
#           stop one JVM service (kafka, apicurio, neo4j), or start it again and wait until it
#           answers: what the outage tests do to a real server.
#
# Ports: KAFKA_PORT, KAFKA_CONTROLLER_PORT, APICURIO_PORT, NEO4J_BOLT_PORT, POSTGRES_PORT, REDIS_PORT.
# Heaps: KAFKA_HEAP, APICURIO_HEAP, NEO4J_HEAP (JVM flags). Readiness timeout: SERVICES_TIMEOUT (s).
# Logs: .cache/services/logs/. Data: .cache/services/{kafka,neo4j}-data (delete them to start empty).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${here}/lib.sh"
# shellcheck source=system.sh
source "${here}/system.sh"
# shellcheck source=kafka.sh
source "${here}/kafka.sh"
# shellcheck source=apicurio.sh
source "${here}/apicurio.sh"
# shellcheck source=neo4j.sh
source "${here}/neo4j.sh"

# The JVM services, in start order. Stopped in reverse.
JVM_SERVICES=(kafka apicurio neo4j)

usage() {
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# Two `up`s (or an `up` and a `down`) at once would both see "not running" and start twice.
take_lock() {
  exec 9>"${SERVICES_DIR}/.lock"
  flock -w 600 9 || die "another services.sh is still running (lock ${SERVICES_DIR}/.lock)"
}

print_env() {
  kafka_env
  apicurio_env
  neo4j_env
  postgres_env
  redis_env
}

cmd_up() {
  local failed=() name
  ensure_dirs
  take_lock

  # The machine's own services first: they are quick to check, and a missing one is reported at
  # the end rather than stopping the others from starting.
  postgres_up || failed+=(postgres)
  redis_up || failed+=(redis)

  # Maven is run one download at a time: parallel runs on one local repository can corrupt it.
  # A running service keeps its jars: swapping them under a live JVM could break it.
  for name in "${JVM_SERVICES[@]}"; do
    service_running "${name}" || "${name}_fetch"
  done

  # Start all JVMs, then wait for each: they boot side by side.
  for name in "${JVM_SERVICES[@]}"; do "${name}_start"; done
  for name in "${JVM_SERVICES[@]}"; do "${name}_wait" || failed+=("${name}"); done

  print_env >"${SERVICES_DIR}/env"
  say ""
  cmd_status || true
  say ""
  say "logs: ${LOG_DIR#"${REPO_ROOT}"/}/   env for tests: ${SERVICES_DIR#"${REPO_ROOT}"/}/env"
  if ((${#failed[@]} > 0)); then
    die "not ready: ${failed[*]} (after $(($(now) - UP_STARTED))s)"
  fi
  say "all services ready in $(($(now) - UP_STARTED))s"
}

cmd_down() {
  local i
  ensure_dirs
  take_lock
  # SIGTERM all first so the shutdowns overlap (Neo4j's checkpoint is the slowest), then wait.
  for ((i = ${#JVM_SERVICES[@]} - 1; i >= 0; i--)); do
    "${JVM_SERVICES[i]}_stop" &
  done
  wait
}

cmd_status() {
  local rc=0
  kafka_status || rc=1
  apicurio_status || rc=1
  neo4j_status || rc=1
  postgres_status || rc=1
  redis_status || rc=1
  return "${rc}"
}

# One JVM service by name (the outage tests stop and start a real server).
cmd_one() {
  local action="$1" name="${2:-}"
  [[ " ${JVM_SERVICES[*]} " == *" ${name} "* ]] || die "${action}: name one of: ${JVM_SERVICES[*]}"
  ensure_dirs
  take_lock
  if [[ "${action}" == stop ]]; then
    "${name}_stop"
  else
    service_running "${name}" || "${name}_fetch"
    "${name}_start"
    "${name}_wait"
  fi
}

main() {
  case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) print_env ;;
  stop | start) cmd_one "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
