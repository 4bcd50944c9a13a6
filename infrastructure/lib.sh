# shellcheck shell=bash
# Helpers shared by services.sh and the per-service files (kafka.sh, apicurio.sh, neo4j.sh, system.sh).
# Sourced, never run: services.sh has already set `set -euo pipefail`.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INFRA_DIR}/.." && pwd)"

# Everything downloaded or written at run time lives under .cache/ (git-ignored), so a fresh clone
# starts clean and a second `up` reuses what the first one fetched.
CACHE_DIR="${REPO_ROOT}/.cache"
MAVEN_REPO="${CACHE_DIR}/maven"
JARS_DIR="${CACHE_DIR}/jars"
SERVICES_DIR="${CACHE_DIR}/services"
LOG_DIR="${SERVICES_DIR}/logs"
RUN_DIR="${SERVICES_DIR}/run"

# Seconds each service may take to become ready before `up` gives up and shows its log.
SERVICES_TIMEOUT="${SERVICES_TIMEOUT:-150}"

say() { printf '%s\n' "$*"; }
warn() { printf 'services: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}

now() { date +%s; }

# When this `up` began, for the timings it prints.
UP_STARTED="$(now)"

ensure_dirs() {
  mkdir -p "${MAVEN_REPO}" "${JARS_DIR}" "${LOG_DIR}" "${RUN_DIR}"
}

# Show the end of a log so a failure explains itself without a second command.
show_log_tail() {
  local log="$1" lines="${2:-40}"
  if [[ -s "${log}" ]]; then
    warn "last ${lines} lines of ${log}:"
    tail -n "${lines}" "${log}" | sed 's/^/    | /' >&2
  else
    warn "(${log} is empty or missing)"
  fi
}

# True when something accepts TCP connections on host:port. Uses bash's /dev/tcp: no nc on the machine.
tcp_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${host}" "${port}" 2>/dev/null
}

# --- processes started by `up` -------------------------------------------------------------------
# Each JVM gets -Dics.service=<name> on its command line, and its pid goes to .cache/services/run/.
# A pid only counts as ours when /proc/<pid>/cmdline still carries that marker, so a recycled pid
# (after a reboot, say) is never mistaken for a running service, nor killed by `down`.

pid_file() { printf '%s/%s.pid' "${RUN_DIR}" "$1"; }

service_pid() {
  local name="$1" file pid cmdline
  file="$(pid_file "${name}")"
  [[ -f "${file}" ]] || return 1
  pid="$(<"${file}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  # Read into a variable rather than pipe into `grep -q`, which under pipefail can fail on SIGPIPE.
  cmdline="$( { tr '\0' ' ' <"/proc/${pid}/cmdline"; } 2>/dev/null)" || return 1
  [[ "${cmdline}" == *"-Dics.service=${name} "* ]] || return 1
  printf '%s' "${pid}"
}

service_running() { service_pid "$1" >/dev/null; }

# True when NAME runs from an earlier `up`; otherwise drops a stale pid file, so that after this
# call a pid file exists only for processes this run started (see wait_started).
running_or_clear() {
  service_running "$1" && return 0
  rm -f "$(pid_file "$1")"
  return 1
}

# wait_started NAME LOG CHECK...: wait_ready, but only for a service with a pid file — one found
# already answering on its port but not started by services.sh was checked when it was found.
wait_started() {
  [[ -f "$(pid_file "$1")" ]] || return 0
  wait_ready "$@"
}

# owner_text NAME STATE [DETAIL]: who runs the service, for `status`.
owner_text() {
  local pid
  if pid="$(service_pid "$1")"; then
    printf 'pid %s%s' "${pid}" "${3:+, $3}"
  elif [[ "$2" == up ]]; then
    printf 'not started by services.sh'
  else
    printf 'not running'
  fi
}

# start_java NAME LOG ARGS...: start a JVM in its own session (so a Ctrl-C in the terminal that ran
# `up` does not reach it), detached from stdin, output to LOG, and record its pid.
start_java() {
  local name="$1" log="$2"
  shift 2
  : >"${log}"
  # 9>&-: do not hand services.sh's lock (fd 9) to the JVM, or it would hold the lock for its lifetime.
  setsid java "-Dics.service=${name}" "$@" </dev/null >>"${log}" 2>&1 9>&- &
  printf '%s' "$!" >"$(pid_file "${name}")"
}

# wait_ready NAME LOG CHECK...: poll CHECK (a command) until it succeeds. Fails early if the process
# dies, or after SERVICES_TIMEOUT seconds, showing the log tail either way.
wait_ready() {
  local name="$1" log="$2"
  shift 2
  local deadline=$(($(now) + SERVICES_TIMEOUT))
  while ! "$@"; do
    if ! service_running "${name}"; then
      warn "${name} exited during startup"
      show_log_tail "${log}"
      return 1
    fi
    if (($(now) >= deadline)); then
      warn "${name} not ready after ${SERVICES_TIMEOUT}s (SERVICES_TIMEOUT)"
      show_log_tail "${log}"
      return 1
    fi
    sleep 0.5
  done
  say "${name}: ready ($(($(now) - UP_STARTED))s after \`up\` began)"
}

# stop_service NAME [GRACE_SECONDS]: SIGTERM, wait for a clean shutdown, SIGKILL after the grace period.
# Idempotent: nothing running is not an error.
stop_service() {
  local name="$1" grace="${2:-60}" pid deadline
  if ! pid="$(service_pid "${name}")"; then
    rm -f "$(pid_file "${name}")"
    say "${name}: not running"
    return 0
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  deadline=$(($(now) + grace))
  while kill -0 "${pid}" 2>/dev/null; do
    if (($(now) >= deadline)); then
      warn "${name} (pid ${pid}) still running after ${grace}s: sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file "${name}")"
  say "${name}: stopped (pid ${pid})"
}

# --- Maven Central downloads ---------------------------------------------------------------------
# A stamp file next to the jars holds a hash of what was asked for (the pom, or the coordinates).
# Same hash: the jars are there, and `up` does not even start Maven. Different hash: fetch again
# into a temporary folder and swap it in, so an interrupted download never leaves half a folder.

stamp_ok() {
  local dir="$1" want="$2"
  [[ -f "${dir}/.ics-stamp" && "$(<"${dir}/.ics-stamp")" == "${want}" ]]
}

write_stamp() { printf '%s' "$2" >"$1/.ics-stamp"; }

swap_dir() {
  local tmp="$1" dir="$2"
  rm -rf "${dir}"
  mv "${tmp}" "${dir}"
}

# mvn_or_die LABEL ARGS...: run Maven with the repo-local cache; on failure show its log and stop.
mvn_or_die() {
  local label="$1"
  shift
  local log="${LOG_DIR}/maven-${label}.log"
  say "${label}: downloading from Maven Central (log: ${log#"${REPO_ROOT}"/})"
  if ! mvn -B -ntp "-Dmaven.repo.local=${MAVEN_REPO}" "$@" >"${log}" 2>&1; then
    warn "Maven failed while fetching ${label}"
    show_log_tail "${log}"
    exit 1
  fi
}

# fetch_pom_jars LABEL POM DEST: copy the pom's dependency tree (jars only) into DEST.
fetch_pom_jars() {
  local label="$1" pom="$2" dest="$3" want
  want="$(sha256sum "${pom}" | cut -d' ' -f1)"
  stamp_ok "${dest}" "${want}" && return 0
  rm -rf "${dest}.tmp"
  mvn_or_die "${label}" -f "${pom}" dependency:copy-dependencies \
    "-DoutputDirectory=${dest}.tmp" -DincludeScope=runtime
  write_stamp "${dest}.tmp" "${want}"
  swap_dir "${dest}.tmp" "${dest}"
}
