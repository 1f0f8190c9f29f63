# shellcheck shell=bash
# ops/services/common.sh — settings and process helpers shared by the service
# files; sourced by ops/services.sh (which sets REPO_DIR), never run alone.
# shellcheck disable=SC2034  # the settings are read by the other sourced files

# ---------------------------------------------------------------- settings

# the state dir (data, logs, pid files, generated configs); overridable so a
# test can run a second set of services beside the shared one
DEFAULT_SVC_DIR="$REPO_DIR/.powerview/services"
SVC_DIR=${POWERVIEW_SERVICES_DIR:-$DEFAULT_SVC_DIR}
[[ $SVC_DIR == /* ]] || SVC_DIR="$PWD/$SVC_DIR"

PG_PORT=${POWERVIEW_PG_PORT:-15432}
PG_PASSWORD=${POWERVIEW_PG_PASSWORD:-powerview}
PG_DATABASE=${POWERVIEW_PG_DATABASE:-powerview}
INFLUX_PORT=${POWERVIEW_INFLUX_PORT:-18086}
INFLUX_RPC_PORT=${POWERVIEW_INFLUX_RPC_PORT:-18088}
INFLUX_ADMIN=${POWERVIEW_INFLUX_ADMIN:-admin}
INFLUX_PASSWORD=${POWERVIEW_INFLUX_PASSWORD:-powerview}
PROM_PORT=${POWERVIEW_PROM_PORT:-19090}
SCRAPE_TARGET=${POWERVIEW_SCRAPE_TARGET:-127.0.0.1:9464}
START_TIMEOUT=${POWERVIEW_SERVICE_TIMEOUT:-60}
STOP_TIMEOUT=${POWERVIEW_STOP_TIMEOUT:-30}
PG_OS_USER=${POWERVIEW_PG_OS_USER:-postgres} # only used when running as root

HOST=127.0.0.1
SERVICES=(postgres influxdb prometheus)

# ---------------------------------------------------------------- messages

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] error: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# die with the tail of a service log
fail_with_log() {
  local msg=$1 logfile=$2
  printf '[services] error: %s\n' "$msg" >&2
  if [[ -s $logfile ]]; then
    printf '[services] --- last 30 lines of %s ---\n' "$logfile" >&2
    tail -n 30 -- "$logfile" >&2 || true
    printf '[services] --- end of log ---\n' >&2
  fi
  exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

as_root() {
  if is_root; then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    die "need root for: $* (run as root or install sudo)"
  fi
}

# every command, even help and env, refuses malformed settings (exit 1)
check_settings() {
  local pair
  for pair in POWERVIEW_PG_PORT:$PG_PORT POWERVIEW_INFLUX_PORT:$INFLUX_PORT \
    POWERVIEW_INFLUX_RPC_PORT:$INFLUX_RPC_PORT POWERVIEW_PROM_PORT:$PROM_PORT \
    POWERVIEW_SERVICE_TIMEOUT:$START_TIMEOUT POWERVIEW_STOP_TIMEOUT:$STOP_TIMEOUT; do
    [[ ${pair#*:} =~ ^[0-9]+$ ]] || die "${pair%%:*} must be a number, got '${pair#*:}'"
  done
  [[ $PG_DATABASE =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
    die "POWERVIEW_PG_DATABASE must be a lower-case identifier, got '$PG_DATABASE'"
  [[ $SCRAPE_TARGET =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] ||
    die "POWERVIEW_SCRAPE_TARGET must be host:port, got '$SCRAPE_TARGET'"
}

# ---------------------------------------------------------------- processes

# true when something accepts TCP connections on 127.0.0.1:$1
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# serialise state-changing commands (concurrent test runners); the lock fd 9
# is closed for every daemon we launch so they never inherit it.
LOCKED=0
take_lock() {
  ((LOCKED)) && return 0
  LOCKED=1
  mkdir -p "$SVC_DIR"
  if have flock; then
    exec 9>"$SVC_DIR/.lock"
    flock -w 300 9 || die "another ops/services.sh holds $SVC_DIR/.lock"
  fi
}

# percent-encode for URLs (userinfo)
urlencode() {
  local s=$1 out='' c i
  local LC_ALL=C
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# pid from a pid file if that process is alive, not a zombie, and runs $2:
# a stale pid file (dead process, or a pid reused by another program) is "not running"
pidfile_alive() {
  local pidfile=$1 name=$2 pid state cmd
  [[ -s $pidfile ]] || return 1
  read -r pid <"$pidfile" || true
  [[ ${pid:-} =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/stat ]]; then
    read -r _ _ state _ <"/proc/$pid/stat" || true
    [[ ${state:-} != Z ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    [[ $cmd == *"$name"* ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# start "$@" detached (own session, nohup, stdin /dev/null, output appended to
# $logfile); the child writes its own pid to $pidfile before exec'ing.
spawn() {
  local pidfile=$1 logfile=$2 i
  shift 2
  rm -f -- "$pidfile"
  printf '=== %s: ops/services.sh starting %s ===\n' "$(date -u +%FT%TZ)" "$1" >>"$logfile"
  # shellcheck disable=SC2016  # expanded by the child shell
  local boot='echo $$ >"$0"; exec "$@"'
  if have setsid; then
    setsid -f nohup sh -c "$boot" "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&-
  else
    nohup sh -c "$boot" "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  fi
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.1
  done
  fail_with_log "$1 did not start (no pid file $pidfile)" "$logfile"
}

# wait_ready NAME LOGFILE PROBE_FN ALIVE_FN [STOP_FN]
# STOP_FN (given when this run launched the process) stops it on timeout.
wait_ready() {
  local name=$1 logfile=$2 probe=$3 alive=$4 stop=${5:-}
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if "$probe"; then return 0; fi
    if ! "$alive" >/dev/null; then
      # looked at mid-exec, /proc/<pid>/cmdline can be empty for a moment: look again before concluding
      sleep 0.5
      if ! "$probe" && ! "$alive" >/dev/null; then
        fail_with_log "$name exited during startup" "$logfile"
      fi
    fi
    if ((SECONDS >= deadline)); then
      if [[ -n $stop ]]; then "$stop" || true; fi
      fail_with_log "$name did not become ready within ${START_TIMEOUT}s (POWERVIEW_SERVICE_TIMEOUT)" "$logfile"
    fi
    sleep 0.5
  done
}

# stop_pidfile NAME PIDFILE BINARY: SIGTERM, SIGKILL after $STOP_TIMEOUT s
stop_pidfile() {
  local name=$1 pidfile=$2 bin=$3 pid
  if ! pid=$(pidfile_alive "$pidfile" "$bin"); then
    rm -f -- "$pidfile"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pidfile" "$bin" $((STOP_TIMEOUT * 10)); then
    log "$name: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pidfile" "$bin" 50 || true
  fi
  rm -f -- "$pidfile"
  log "$name: stopped"
}

# wait_gone PIDFILE BINARY TENTHS: true once the process is gone
wait_gone() {
  local i
  for ((i = 0; i < $3; i++)); do
    pidfile_alive "$1" "$2" >/dev/null || return 0
    sleep 0.1
  done
  ! pidfile_alive "$1" "$2" >/dev/null
}
