# shellcheck shell=bash
# Apicurio Registry: the Confluent-compatible schema registry, under /apis/ccompat/v7.
# Sourced by services.sh.
#
# Maven Central has it as `io.apicurio:apicurio-registry-app:<version>:tar.gz:all`: a Quarkus
# application (a runner jar plus lib/). Version choice: 3.0.9 is compiled for Java 17; 3.3.x needs
# Java 21 (maven.compiler.release 21), so it would not start on the default JDK. The in-memory
# storage is the default (SQL storage on an in-memory H2 database): every start is empty.
#
# Fetched with `dependency:copy` (just that one file) rather than a pom: the 3.0.9 parent pom is
# missing from Maven Central, which breaks any dependency-tree resolution of the artifact.

APICURIO_VERSION="${APICURIO_VERSION:-3.0.9}"
APICURIO_HOST=127.0.0.1
APICURIO_PORT="${APICURIO_PORT:-8081}"
APICURIO_HEAP="${APICURIO_HEAP:--Xms128m -Xmx512m}"

APICURIO_DIR="${JARS_DIR}/apicurio"
APICURIO_LOG="${LOG_DIR}/apicurio.log"
APICURIO_API="http://${APICURIO_HOST}:${APICURIO_PORT}/apis/ccompat/v7"

apicurio_runner() { printf '%s/apicurio-registry-app-%s-runner.jar' "${APICURIO_DIR}" "${APICURIO_VERSION}"; }

apicurio_fetch() {
  local coords="io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all"
  stamp_ok "${APICURIO_DIR}" "${coords}" && return 0
  rm -rf "${APICURIO_DIR}.tmp" "${APICURIO_DIR}.download"
  mvn_or_die apicurio dependency:copy "-Dartifact=${coords}" "-DoutputDirectory=${APICURIO_DIR}.download"
  mkdir -p "${APICURIO_DIR}.tmp"
  tar -xzf "${APICURIO_DIR}.download/apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz" -C "${APICURIO_DIR}.tmp"
  rm -rf "${APICURIO_DIR}.download"
  [[ -f "${APICURIO_DIR}.tmp/$(basename "$(apicurio_runner)")" ]] ||
    die "apicurio: the archive has no $(basename "$(apicurio_runner)"); its layout changed?"
  write_stamp "${APICURIO_DIR}.tmp" "${coords}"
  swap_dir "${APICURIO_DIR}.tmp" "${APICURIO_DIR}"
}

apicurio_ready() {
  curl -sf -o /dev/null --max-time 2 "${APICURIO_API}/subjects"
}

apicurio_start() {
  if running_or_clear apicurio; then
    say "apicurio: already running (pid $(service_pid apicurio))"
    return 0
  fi
  if tcp_open "${APICURIO_HOST}" "${APICURIO_PORT}"; then
    apicurio_ready && { say "apicurio: a registry not started by services.sh already answers on ${APICURIO_API}; using it"; return 0; }
    die "apicurio: ${APICURIO_HOST}:${APICURIO_PORT} is taken by something that does not serve ${APICURIO_API}"
  fi
  say "apicurio: starting (log: ${APICURIO_LOG#"${REPO_ROOT}"/})"
  # Deletion is off by default in Apicurio; tests clean up their subjects, so allow it.
  # shellcheck disable=SC2086 # APICURIO_HEAP holds several flags
  start_java apicurio "${APICURIO_LOG}" ${APICURIO_HEAP} \
    "-Dquarkus.http.host=${APICURIO_HOST}" "-Dquarkus.http.port=${APICURIO_PORT}" \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -jar "$(apicurio_runner)"
}

apicurio_wait() {
  wait_started apicurio "${APICURIO_LOG}" apicurio_ready
}

apicurio_stop() { stop_service apicurio 30; }

apicurio_status() {
  local state=down rc=1 owner
  apicurio_ready && { state=up; rc=0; }
  owner="$(owner_text apicurio "${state}")"
  printf 'apicurio   %-5s %-22s %s, API %s\n' "${state}" "${APICURIO_HOST}:${APICURIO_PORT}" "${owner}" "${APICURIO_API}"
  return "${rc}"
}

apicurio_env() { printf 'SCHEMA_REGISTRY_URL=%s\n' "${APICURIO_API}"; }
