#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# An extra, private Kafka broker (one KRaft node, as services.sh runs) for tests that stop and
# restart a broker: the shared one on 9092 must never be stopped. Its config, data, log and pid
# file all live in DIR; the jars are the ones `services.sh up` fetched.
#
# Usage: infrastructure/kafka-broker.sh start DIR PORT CONTROLLER_PORT
#        infrastructure/kafka-broker.sh stop DIR
#   start  format DIR on first use, start the broker on 127.0.0.1:PORT (its controller on
#          CONTROLLER_PORT) and wait until it answers. Again with the same DIR and ports: the same
#          data, i.e. a restart (other ports would format DIR anew).
#   stop   SIGTERM, wait for the clean shutdown (SIGKILL after 60 s). Nothing running: no error.
#
# Environment: KAFKA_JARS (default .cache/jars/kafka), KAFKA_HEAP (JVM flags, default a small heap),
# SERVICES_TIMEOUT (seconds to wait for readiness, default 150).
set -euo pipefail

usage() {
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

cmd="${1:-}"
dir="${2:-}"
if [[ -z "${dir}" || ("${cmd}" != start && "${cmd}" != stop) ]]; then
  usage >&2
  exit 2
fi
if [[ "${cmd}" == start ]]; then
  [[ "${3:-}" =~ ^[0-9]+$ && "${4:-}" =~ ^[0-9]+$ ]] || {
    usage >&2
    exit 2
  }
  KAFKA_PORT="$3"
  KAFKA_CONTROLLER_PORT="$4"
fi
mkdir -p "${dir}"
dir="$(cd "${dir}" && pwd)"
# C1 only and the serial collector: a test broker lives for seconds, and starts much faster so.
KAFKA_HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
KAFKA_DATA="${dir}/data"
KAFKA_CONF="${dir}/server.properties"
KAFKA_LOG="${dir}/kafka.log"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${here}/lib.sh"
# shellcheck source=kafka.sh
source "${here}/kafka.sh"
# Logs and the pid file go to DIR too, never to the shared services' folders.
LOG_DIR="${dir}"
RUN_DIR="${dir}"

case "${cmd}" in
start)
  [[ -f "${KAFKA_JARS}/.ics-stamp" ]] ||
    die "kafka jars not found in ${KAFKA_JARS} (run services.sh up, or set KAFKA_JARS)"
  kafka_start
  kafka_wait
  ;;
stop) kafka_stop ;;
esac
