# shellcheck shell=bash
# Neo4j 5.26 Community, embedded in a small launcher (neo4j/Neo4jLauncher.java) with Bolt enabled.
# Sourced by services.sh. Jar versions are pinned in neo4j/pom.xml.
#
# Authentication is disabled: connect to bolt://127.0.0.1:7687 with no credentials (any given are
# ignored). The data directory persists between `down` and `up`; its own logs (debug.log, query.log)
# are in .cache/services/neo4j-data/logs/.

NEO4J_HOST=127.0.0.1
NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
NEO4J_HEAP="${NEO4J_HEAP:--Xms256m -Xmx1g}"

NEO4J_JARS="${JARS_DIR}/neo4j"
NEO4J_CLASSES="${JARS_DIR}/neo4j-launcher"
NEO4J_DATA="${SERVICES_DIR}/neo4j-data"
NEO4J_LOG="${LOG_DIR}/neo4j.log"

neo4j_fetch() {
  fetch_pom_jars neo4j "${INFRA_DIR}/neo4j/pom.xml" "${NEO4J_JARS}"
  neo4j_compile
}

# Compile the launcher when its source or the jars changed (the stamp holds both hashes).
neo4j_compile() {
  local src="${INFRA_DIR}/neo4j/Neo4jLauncher.java" want
  want="$(sha256sum "${src}" | cut -d' ' -f1) $(<"${NEO4J_JARS}/.ics-stamp")"
  stamp_ok "${NEO4J_CLASSES}" "${want}" && return 0
  rm -rf "${NEO4J_CLASSES}.tmp"
  mkdir -p "${NEO4J_CLASSES}.tmp"
  if ! javac -d "${NEO4J_CLASSES}.tmp" -cp "${NEO4J_JARS}/*" "${src}" >"${LOG_DIR}/neo4j-javac.log" 2>&1; then
    warn "neo4j: compiling ${src#"${REPO_ROOT}"/} failed"
    show_log_tail "${LOG_DIR}/neo4j-javac.log"
    exit 1
  fi
  write_stamp "${NEO4J_CLASSES}.tmp" "${want}"
  swap_dir "${NEO4J_CLASSES}.tmp" "${NEO4J_CLASSES}"
}

# Bolt handshake over /dev/tcp: the magic preamble, then "5.0 up to 5.8" and "4.4" as proposals.
# A server that speaks Bolt answers with the 4-byte version it picked; anything non-zero means Bolt
# is up (zero means no common version; no answer means something else holds the port).
neo4j_bolt_ok() {
  local hex
  # shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
  hex="$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x60\x60\xb0\x17\x00\x08\x08\x05\x00\x00\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00" >&3
    head -c 4 <&3 | od -An -tx1 | tr -d " \n"
  ' "${NEO4J_HOST}" "${NEO4J_BOLT_PORT}" 2>/dev/null)" || return 1
  [[ ${#hex} -eq 8 && "${hex}" != 00000000 ]]
}

# The launcher prints its READY line after Bolt is listening and `RETURN 1` ran inside the engine.
neo4j_ready() {
  grep -q NEO4J_LAUNCHER_READY "${NEO4J_LOG}" 2>/dev/null && neo4j_bolt_ok
}

neo4j_start() {
  if running_or_clear neo4j; then
    say "neo4j: already running (pid $(service_pid neo4j))"
    return 0
  fi
  if tcp_open "${NEO4J_HOST}" "${NEO4J_BOLT_PORT}"; then
    neo4j_bolt_ok && { say "neo4j: a Bolt server not started by services.sh already answers on ${NEO4J_HOST}:${NEO4J_BOLT_PORT}; using it"; return 0; }
    die "neo4j: ${NEO4J_HOST}:${NEO4J_BOLT_PORT} is taken by something that does not speak Bolt"
  fi
  mkdir -p "${NEO4J_DATA}"
  say "neo4j: starting (log: ${NEO4J_LOG#"${REPO_ROOT}"/})"
  # The --add-opens are those of Neo4j's own launch scripts: without java.nio the page cache falls
  # back to a slower mode ("Reflection access to java.nio.DirectByteBuffer is not available").
  # shellcheck disable=SC2086 # NEO4J_HEAP holds several flags
  start_java neo4j "${NEO4J_LOG}" ${NEO4J_HEAP} -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    -Dio.netty.tryReflectionSetAccessible=true -Djdk.nio.maxCachedBufferSize=1024 \
    -cp "${NEO4J_CLASSES}:${NEO4J_JARS}/*" Neo4jLauncher "${NEO4J_DATA}" "${NEO4J_HOST}" "${NEO4J_BOLT_PORT}"
}

neo4j_wait() {
  wait_started neo4j "${NEO4J_LOG}" neo4j_ready
}

# Neo4j checkpoints on shutdown, which takes several seconds; give it time before SIGKILL.
neo4j_stop() { stop_service neo4j 90; }

neo4j_status() {
  local state=down rc=1 owner
  neo4j_bolt_ok && { state=up; rc=0; }
  owner="$(owner_text neo4j "${state}" "auth disabled")"
  printf 'neo4j      %-5s %-22s %s\n' "${state}" "${NEO4J_HOST}:${NEO4J_BOLT_PORT}" "${owner}"
  return "${rc}"
}

neo4j_env() { printf 'NEO4J_URI=bolt://%s:%s\n' "${NEO4J_HOST}" "${NEO4J_BOLT_PORT}"; }
