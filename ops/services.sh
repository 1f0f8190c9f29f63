#!/usr/bin/env bash
# ops/services.sh — local PostgreSQL, InfluxDB 1.x and Prometheus for dev, tests
# and demos. Everything binds to 127.0.0.1; data, logs, pid files and generated
# configs live under <repo>/.powerview/services/ (git-ignored).
#
#   ops/services.sh install | up | down | status | env | reset
#   ops/services.sh start|stop|restart [postgres|influxdb|prometheus ...]
#
# See docs/operations.md, "Local services (ops/services.sh)".
set -euo pipefail

SCRIPT_PATH=$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")
REPO_DIR=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
PV_DIR="$REPO_DIR/.powerview"
SVC_DIR="$PV_DIR/services"

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
PG_OS_USER=${POWERVIEW_PG_OS_USER:-postgres}   # only used when running as root

HOST=127.0.0.1
PG_DIR="$SVC_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
INFLUX_DIR="$SVC_DIR/influxdb"
INFLUX_CONF="$INFLUX_DIR/influxdb.conf"
INFLUX_PID="$INFLUX_DIR/influxd.pid"
INFLUX_LOG="$INFLUX_DIR/influxd.log"
INFLUX_URL="http://$HOST:$INFLUX_PORT"
PROM_DIR="$SVC_DIR/prometheus"
PROM_CONF="$PROM_DIR/prometheus.yml"
PROM_PID="$PROM_DIR/prometheus.pid"
PROM_LOG="$PROM_DIR/prometheus.log"
PROM_URL="http://$HOST:$PROM_PORT"

SERVICES=(postgres influxdb prometheus)

# ---------------------------------------------------------------- helpers

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }
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
  if is_root; then "$@"
  elif have sudo; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"
  fi
}

check_number() {
  [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a number, got '$2'"
}
check_number POWERVIEW_PG_PORT "$PG_PORT"
check_number POWERVIEW_INFLUX_PORT "$INFLUX_PORT"
check_number POWERVIEW_INFLUX_RPC_PORT "$INFLUX_RPC_PORT"
check_number POWERVIEW_PROM_PORT "$PROM_PORT"
check_number POWERVIEW_SERVICE_TIMEOUT "$START_TIMEOUT"
check_number POWERVIEW_STOP_TIMEOUT "$STOP_TIMEOUT"
[[ $PG_DATABASE =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
  die "POWERVIEW_PG_DATABASE must be a lower-case identifier, got '$PG_DATABASE'"
[[ $SCRAPE_TARGET =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] ||
  die "POWERVIEW_SCRAPE_TARGET must be host:port, got '$SCRAPE_TARGET'"

# true when something accepts TCP connections on 127.0.0.1:$1
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# serialise state-changing commands (concurrent test runners); the lock fd is
# closed for every daemon we launch so they never inherit it.
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

# pid from a pid file if that process is alive, not a zombie, and runs $2
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
  # shellcheck disable=SC2016
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
      [[ -n $stop ]] && "$stop" || true
      fail_with_log "$name did not become ready within ${START_TIMEOUT}s (POWERVIEW_SERVICE_TIMEOUT)" "$logfile"
    fi
    sleep 0.5
  done
}

# stop_pidfile NAME PIDFILE BINARY
stop_pidfile() {
  local name=$1 pidfile=$2 bin=$3 pid i
  if ! pid=$(pidfile_alive "$pidfile" "$bin"); then
    rm -f -- "$pidfile"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    pidfile_alive "$pidfile" "$bin" >/dev/null || break
    sleep 0.1
  done
  if pidfile_alive "$pidfile" "$bin" >/dev/null; then
    log "$name: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pidfile_alive "$pidfile" "$bin" >/dev/null || break
      sleep 0.1
    done
  fi
  rm -f -- "$pidfile"
  log "$name: stopped"
}

canonical_name() {
  case $1 in
    postgres | postgresql | pg) echo postgres ;;
    influxdb | influx | influxd) echo influxdb ;;
    prometheus | prom) echo prometheus ;;
    *) printf '[services] error: unknown service "%s" (postgres, influxdb, prometheus)\n' "$1" >&2; exit 2 ;;
  esac
}

# ---------------------------------------------------------------- install

# PostgreSQL bin dir: $POWERVIEW_PG_BINDIR, else the version matching an
# existing data dir, else the newest /usr/lib/postgresql/*/bin, else $PATH.
pg_bindir() {
  local d want=''
  if [[ -n ${POWERVIEW_PG_BINDIR:-} ]]; then
    [[ -x $POWERVIEW_PG_BINDIR/postgres ]] || return 1
    printf '%s\n' "$POWERVIEW_PG_BINDIR"
    return 0
  fi
  [[ -r $PG_DATA/PG_VERSION ]] && read -r want <"$PG_DATA/PG_VERSION" 2>/dev/null || true
  if [[ -n $want && -x /usr/lib/postgresql/$want/bin/postgres ]]; then
    printf '%s\n' "/usr/lib/postgresql/$want/bin"
    return 0
  fi
  while read -r d; do
    [[ -x $d/postgres ]] && { printf '%s\n' "$d"; return 0; }
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  if have postgres && have pg_ctl && have initdb; then
    dirname -- "$(command -v postgres)"
    return 0
  fi
  return 1
}

missing_packages() {
  pg_bindir >/dev/null || echo postgresql
  have influxd || echo influxdb
  have influx || echo influxdb-client
  have prometheus || echo prometheus
  have curl || echo curl
  # the real OpenSSH sftp client and server: the SFTP-without-hooks tests (test/sftp-*.test.ts)
  have sftp || echo openssh-client
  [[ -x /usr/lib/openssh/sftp-server ]] || echo openssh-sftp-server
}

cmd_install() {
  local pkgs
  mapfile -t pkgs < <(missing_packages)
  if ((${#pkgs[@]} == 0)); then
    log "install: postgresql, influxdb, influxdb-client, prometheus, curl, sftp and sftp-server are present"
    return 0
  fi
  have apt-get || die "missing ${pkgs[*]} and no apt-get here; install them by hand"
  log "install: missing ${pkgs[*]}; installing from Debian packages"
  as_root apt-get update
  # Debian's postinst scripts may try to start the system services (or fail to,
  # without systemd); that is irrelevant here, so judge by the binaries.
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    log "install: apt-get reported an error (often a postinst that cannot start a system service); checking binaries"
  fi
  mapfile -t pkgs < <(missing_packages)
  ((${#pkgs[@]} == 0)) || die "still missing after apt-get install: ${pkgs[*]}"
  log "install: done"
}

# ---------------------------------------------------------------- postgres

PG_BIN=''
pg_bin() {
  if [[ -z $PG_BIN ]]; then
    PG_BIN=$(pg_bindir) || die "PostgreSQL not found (run: ops/services.sh install)"
  fi
  printf '%s/%s' "$PG_BIN" "$1"
}

# socket directory: the data dir's parent, unless that path is too long for a
# unix socket (107 bytes) — then a private dir under $TMPDIR.
pg_sockdir() {
  local sock="$PG_DIR/.s.PGSQL.$PG_PORT"
  if ((${#sock} <= 100)); then
    printf '%s\n' "$PG_DIR"
  else
    printf '%s\n' "${TMPDIR:-/tmp}/powerview-pg-$(id -u)-$PG_PORT"
  fi
}

# run a command as the PostgreSQL OS user (root → $PG_OS_USER; else ourselves)
as_pg() {
  if is_root; then
    if have runuser; then
      (cd "$PG_DIR" && runuser -u "$PG_OS_USER" -- "$@") 9>&-
    else
      local cmd
      cmd=$(printf '%q ' "$@")
      (cd "$PG_DIR" && su "$PG_OS_USER" -s /bin/sh -c "$cmd") 9>&-
    fi
  else
    (cd "$PG_DIR" && "$@") 9>&-
  fi
}

# write stdin to a file owned by the PostgreSQL OS user, mode 600
pg_write_file() {
  local f=$1
  (umask 077 && cat >"$f")
  if is_root; then chown "$PG_OS_USER:" "$f"; fi
}

# make $PG_DIR owned by the postgres user and reachable by it, even inside a
# root-owned checkout (chmod 755 on .powerview and .powerview/services; for
# ancestors outside the repo that it cannot traverse: an ACL or o+x).
pg_prepare_dirs() {
  mkdir -p "$PG_DIR"
  is_root || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 ||
    die "no '$PG_OS_USER' system user (it comes with Debian's postgresql package; set POWERVIEW_PG_OS_USER to another non-root user)"
  chmod 755 "$PV_DIR" "$SVC_DIR"
  if [[ $(stat -c %U "$PG_DIR") != "$PG_OS_USER" ]] ||
     { [[ -d $PG_DATA ]] && [[ $(stat -c %U "$PG_DATA") != "$PG_OS_USER" ]]; }; then
    chown -R "$PG_OS_USER:" "$PG_DIR"
  fi
  chmod 755 "$PG_DIR"   # logs readable; data/ itself stays 700 (PostgreSQL insists)
  if ! runuser -u "$PG_OS_USER" -- test -x "$PG_DIR" 2>/dev/null; then
    local dir='' part
    local -a parts
    IFS=/ read -r -a parts <<<"${PG_DIR#/}"
    for part in "${parts[@]}"; do
      dir+="/$part"
      if ! runuser -u "$PG_OS_USER" -- test -x "$dir" 2>/dev/null; then
        if have setfacl && setfacl -m "u:$PG_OS_USER:x" "$dir" 2>/dev/null; then
          log "postgres: granted '$PG_OS_USER' traverse (ACL u:$PG_OS_USER:x) on $dir"
        else
          chmod o+x "$dir"
          log "postgres: added o+x (traverse only, no listing) on $dir so '$PG_OS_USER' can reach the data dir"
        fi
      fi
    done
    runuser -u "$PG_OS_USER" -- test -x "$PG_DIR" ||
      die "user '$PG_OS_USER' still cannot reach $PG_DIR"
  fi
}

pg_initdb() {
  if [[ -f $PG_DATA/PG_VERSION ]]; then return 0; fi
  if [[ -d $PG_DATA ]] && [[ -n $(ls -A "$PG_DATA") ]]; then
    die "$PG_DATA exists but holds no cluster (interrupted initdb?); run: ops/services.sh reset"
  fi
  local pwfile="$PG_DIR/.initdb-pw" locale_opt=(--no-locale)
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale_opt=(--locale=C.UTF-8); fi
  log "postgres: initdb in $PG_DATA"
  printf '%s\n' "$PG_PASSWORD" | pg_write_file "$pwfile"
  if ! as_pg "$(pg_bin initdb)" -D "$PG_DATA" -U postgres --pwfile="$pwfile" -E UTF8 "${locale_opt[@]}" \
      --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1; then
    rm -f -- "$pwfile"
    fail_with_log "initdb failed" "$PG_DIR/initdb.log"
  fi
  rm -f -- "$pwfile"
  printf "\n# ops/services.sh: listen address, port, socket dir (regenerated on every start)\ninclude_if_exists = 'powerview.conf'\n" |
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_write_config() {
  local sockdir q_sock
  sockdir=$(pg_sockdir)
  if [[ $sockdir != "$PG_DIR" ]]; then
    mkdir -p "$sockdir"
    if is_root; then chown "$PG_OS_USER:" "$sockdir"; fi
    chmod 700 "$sockdir"
  fi
  q_sock=${sockdir//\'/\'\'}
  pg_write_file "$PG_DATA/powerview.conf" <<EOF
# Generated by ops/services.sh on every start; edit the script, not this file.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$q_sock'
password_encryption = 'scram-sha-256'
# bulk loads (COPY of hourly partials, group commits): fewer checkpoints and
# their full-page writes; durability unchanged (fsync, synchronous_commit on)
shared_buffers = '256MB'
wal_buffers = '16MB'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
checkpoint_completion_target = 0.9
EOF
  # TCP: password (SCRAM) only. Unix socket: peer, for the OS user that runs
  # the server (mapped to the postgres role) — used by this script only.
  local os_user
  if is_root; then os_user=$PG_OS_USER; else os_user=$(id -un); fi
  pg_write_file "$PG_DATA/pg_hba.conf" <<EOF
# Generated by ops/services.sh on every start; edit the script, not this file.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 peer map=powerview
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 peer map=powerview
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
EOF
  pg_write_file "$PG_DATA/pg_ident.conf" <<EOF
# Generated by ops/services.sh on every start; edit the script, not this file.
# MAPNAME    SYSTEM-USERNAME  PG-USERNAME
powerview    $os_user         postgres
powerview    /^(.*)\$          \1
EOF
}

pg_running() {
  [[ -f $PG_DATA/PG_VERSION ]] || return 1
  PG_BIN=$(pg_bindir) || return 1
  as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_pid() {
  local pid
  pg_running || return 1
  read -r pid <"$PG_DATA/postmaster.pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

pg_ready() { "$(pg_bin pg_isready)" -q -h "$HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

start_postgres() {
  pg_bin postgres >/dev/null
  pg_prepare_dirs
  pg_initdb
  if pg_running; then
    log "postgres: already running (pid $(pg_pid || echo ?)) on $HOST:$PG_PORT"
  else
    if port_busy "$PG_PORT"; then
      die "postgres: port $HOST:$PG_PORT is taken by another process (set POWERVIEW_PG_PORT)"
    fi
    pg_write_config
    log "postgres: starting on $HOST:$PG_PORT"
    printf '=== %s: ops/services.sh starting postgres ===\n' "$(date -u +%FT%TZ)" | as_pg tee -a "$PG_LOG" >/dev/null
    if ! as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" -s start; then
      fail_with_log "postgres: pg_ctl start failed" "$PG_LOG"
    fi
  fi
  wait_ready postgres "$PG_LOG" pg_ready pg_pid
  # the password follows POWERVIEW_PG_PASSWORD (set over the local socket, peer auth)
  local q_pw=${PG_PASSWORD//\'/\'\'}
  if ! printf "SET log_statement = 'none';\nALTER ROLE postgres WITH LOGIN PASSWORD '%s';\n" "$q_pw" |
      as_pg "$(pg_bin psql)" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$PG_PORT" -U postgres -d postgres >/dev/null; then
    die "postgres: could not set the postgres password over the local socket"
  fi
  pg_ensure_database
  log "postgres: ready on $HOST:$PG_PORT (pid $(pg_pid || echo ?))"
}

# the product's database ($PG_DATABASE, owner postgres), created when missing;
# `powerview migrate` fills it
pg_ensure_database() {
  local psql exists
  psql=$(pg_bin psql)
  exists=$(as_pg "$psql" -X -q -At -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$PG_PORT" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'") ||
    die "postgres: could not list databases over the local socket"
  [[ $exists == 1 ]] && return 0
  as_pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE DATABASE \"$PG_DATABASE\" OWNER postgres" >/dev/null ||
    die "postgres: could not create database $PG_DATABASE"
  log "postgres: created database $PG_DATABASE"
}

stop_postgres() {
  if ! pg_running; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping (pid $(pg_pid || echo ?))"
  if ! as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s stop; then
    log "postgres: fast shutdown did not finish in ${STOP_TIMEOUT}s; immediate shutdown"
    as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -m immediate -w -t "$STOP_TIMEOUT" -s stop || true
  fi
  log "postgres: stopped"
}

# ---------------------------------------------------------------- influxdb

influx_pid() { pidfile_alive "$INFLUX_PID" influxd; }
influx_ping() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$INFLUX_URL/ping" 2>/dev/null || true) == 204 ]]
}

influx_write_config() {
  mkdir -p "$INFLUX_DIR/meta" "$INFLUX_DIR/data" "$INFLUX_DIR/wal"
  local index=''
  # tsi1 exists from 1.5; `influxd config` shows index-version when supported
  if influxd config 2>/dev/null | grep -q 'index-version'; then index='index-version = "tsi1"'; fi
  cat >"$INFLUX_CONF" <<EOF
# Generated by ops/services.sh on every start; edit the script, not this file.
# Keys left out keep influxd's defaults (see: influxd config).
reporting-enabled = false
bind-address = "$HOST:$INFLUX_RPC_PORT"

[meta]
  dir = "$INFLUX_DIR/meta"

[data]
  dir = "$INFLUX_DIR/data"
  wal-dir = "$INFLUX_DIR/wal"
  $index
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "$HOST:$INFLUX_PORT"
  auth-enabled = true
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false
  unix-socket-enabled = false

[continuous_queries]
  log-enabled = false

[logging]
  suppress-logo = true
EOF
}

# influx_query [--auth] QUERY → HTTP code in $INFLUX_CODE, body in $INFLUX_BODY.
# Credentials and the query go through /dev/fd, never the command line.
INFLUX_CODE='' INFLUX_BODY=''
influx_query() {
  local auth=0 body cred
  if [[ $1 == --auth ]]; then auth=1; shift; fi
  local q=$1
  cred=${INFLUX_ADMIN//\\/\\\\}:${INFLUX_PASSWORD//\\/\\\\}
  cred=${cred//\"/\\\"}
  body=$(mktemp)
  if ((auth)); then
    INFLUX_CODE=$(curl -s --max-time 10 -o "$body" -w '%{http_code}' -K <(printf 'user = "%s"\n' "$cred") \
      -XPOST "$INFLUX_URL/query" --data-urlencode "q@"<(printf '%s' "$q") || true)
  else
    INFLUX_CODE=$(curl -s --max-time 10 -o "$body" -w '%{http_code}' \
      -XPOST "$INFLUX_URL/query" --data-urlencode "q@"<(printf '%s' "$q") || true)
  fi
  INFLUX_BODY=$(cat -- "$body")
  rm -f -- "$body"
}

influx_ok() { [[ $INFLUX_CODE == 200 && $INFLUX_BODY != *'"error"'* ]]; }

influx_ensure_admin() {
  local q_user q_pw
  influx_query --auth 'SHOW USERS'
  influx_ok && return 0
  # with auth on and no user yet, InfluxDB 1.x accepts exactly one kind of
  # unauthenticated query: CREATE USER ... WITH ALL PRIVILEGES
  q_user=${INFLUX_ADMIN//\\/\\\\}; q_user=${q_user//\"/\\\"}
  q_pw=${INFLUX_PASSWORD//\\/\\\\}; q_pw=${q_pw//\'/\\\'}
  influx_query "CREATE USER \"$q_user\" WITH PASSWORD '$q_pw' WITH ALL PRIVILEGES"
  if influx_ok; then
    log "influxdb: created admin user '$INFLUX_ADMIN'"
  fi
  influx_query --auth 'SHOW USERS'
  influx_ok || die "influxdb: user '$INFLUX_ADMIN' cannot log in (HTTP $INFLUX_CODE: $INFLUX_BODY). Users exist with other credentials: set POWERVIEW_INFLUX_ADMIN/POWERVIEW_INFLUX_PASSWORD to them, or wipe local state with: ops/services.sh reset"
}

start_influxdb() {
  have influxd || die "influxd not found (run: ops/services.sh install)"
  have curl || die "curl not found (run: ops/services.sh install)"
  mkdir -p "$INFLUX_DIR"
  local pid stop_fn=''
  if pid=$(influx_pid); then
    log "influxdb: already running (pid $pid) on $INFLUX_URL"
  else
    local p
    for p in "$INFLUX_PORT" "$INFLUX_RPC_PORT"; do
      port_busy "$p" && die "influxdb: port $HOST:$p is taken by another process (set POWERVIEW_INFLUX_PORT / POWERVIEW_INFLUX_RPC_PORT)"
    done
    influx_write_config
    log "influxdb: starting on $INFLUX_URL"
    spawn "$INFLUX_PID" "$INFLUX_LOG" influxd run -config "$INFLUX_CONF"
    stop_fn=stop_influxdb
  fi
  wait_ready influxdb "$INFLUX_LOG" influx_ping influx_pid $stop_fn
  influx_ensure_admin
  log "influxdb: ready on $INFLUX_URL (pid $(influx_pid || echo ?))"
}

stop_influxdb() { stop_pidfile influxdb "$INFLUX_PID" influxd; }

# ---------------------------------------------------------------- prometheus

prom_pid() { pidfile_alive "$PROM_PID" prometheus; }
prom_ready() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$PROM_URL/-/ready" 2>/dev/null || true) == 200 ]] || return 1
  # /-/ready comes before service discovery has handed over the scrape targets (about 5 s later):
  # ready means the targets are known too, so a client asking at once finds the service's target
  curl -s --max-time 2 "$PROM_URL/api/v1/targets" 2>/dev/null | grep -q '"scrapeUrl"'
}

prom_write_config() {
  mkdir -p "$PROM_DIR/data"
  cat >"$PROM_CONF" <<EOF
# Generated by ops/services.sh on every start; edit the script, not this file.
global:
  scrape_interval: 5s
  evaluation_interval: 5s

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$HOST:$PROM_PORT']
  # the PowerView service's /metrics (POWERVIEW_HTTP_ADDR); down is fine
  - job_name: powerview
    static_configs:
      - targets: ['$SCRAPE_TARGET']
EOF
}

start_prometheus() {
  have prometheus || die "prometheus not found (run: ops/services.sh install)"
  have curl || die "curl not found (run: ops/services.sh install)"
  mkdir -p "$PROM_DIR"
  local pid stop_fn=''
  if pid=$(prom_pid); then
    log "prometheus: already running (pid $pid) on $PROM_URL"
  else
    port_busy "$PROM_PORT" && die "prometheus: port $HOST:$PROM_PORT is taken by another process (set POWERVIEW_PROM_PORT)"
    prom_write_config
    log "prometheus: starting on $PROM_URL"
    spawn "$PROM_PID" "$PROM_LOG" prometheus \
      --config.file="$PROM_CONF" \
      --storage.tsdb.path="$PROM_DIR/data" \
      --web.listen-address="$HOST:$PROM_PORT" \
      --web.enable-lifecycle
    stop_fn=stop_prometheus
  fi
  wait_ready prometheus "$PROM_LOG" prom_ready prom_pid $stop_fn
  log "prometheus: ready on $PROM_URL (pid $(prom_pid || echo ?))"
}

stop_prometheus() { stop_pidfile prometheus "$PROM_PID" prometheus; }

# ---------------------------------------------------------------- commands

names_or_all() {
  if (($# == 0)); then printf '%s\n' "${SERVICES[@]}"; return; fi
  local n
  for n in "$@"; do canonical_name "$n"; done
}

cmd_start() {
  local names n
  names=$(names_or_all "$@") || exit 2
  take_lock
  for n in $names; do "start_$n"; done
}

cmd_stop() {
  local names n
  names=$(names_or_all "$@") || exit 2
  take_lock
  # reverse order: prometheus, influxdb, postgres
  for n in $(printf '%s\n' $names | tac); do "stop_$n"; done
}

cmd_restart() {
  local names n
  names=$(names_or_all "$@") || exit 2
  take_lock
  for n in $names; do "stop_$n"; "start_$n"; done
}

cmd_up() {
  if [[ ${POWERVIEW_SKIP_INSTALL:-0} != 1 ]]; then cmd_install; fi
  cmd_start
  cmd_status
}

cmd_down() { cmd_stop; }

cmd_status() {
  local pid
  if pid=$(pg_pid 2>/dev/null); then
    printf '%-11s %-8s pid %-8s %s\n' postgres running "$pid" "$HOST:$PG_PORT"
  else
    printf '%-11s %-8s pid %-8s %s\n' postgres stopped - "$HOST:$PG_PORT"
  fi
  if pid=$(influx_pid); then
    printf '%-11s %-8s pid %-8s %s\n' influxdb running "$pid" "$INFLUX_URL"
  else
    printf '%-11s %-8s pid %-8s %s\n' influxdb stopped - "$INFLUX_URL"
  fi
  if pid=$(prom_pid); then
    printf '%-11s %-8s pid %-8s %s\n' prometheus running "$pid" "$PROM_URL"
  else
    printf '%-11s %-8s pid %-8s %s\n' prometheus stopped - "$PROM_URL"
  fi
}

cmd_env() {
  printf 'export %s=%q\n' \
    INFLUX_URL "$INFLUX_URL" \
    INFLUX_API v1 \
    INFLUX_USERNAME "$INFLUX_ADMIN" \
    INFLUX_PASSWORD "$INFLUX_PASSWORD" \
    DATABASE_URL "postgres://postgres:$(urlencode "$PG_PASSWORD")@$HOST:$PG_PORT/$PG_DATABASE" \
    PROMETHEUS_URL "$PROM_URL"
}

cmd_reset() {
  cmd_stop
  case $SVC_DIR in
    */.powerview/services) ;;
    *) die "refusing to delete unexpected path $SVC_DIR" ;;
  esac
  log "reset: deleting $SVC_DIR"
  rm -rf -- "$SVC_DIR"
}

usage() {
  cat <<EOF
usage: ops/services.sh COMMAND [SERVICE...]

Local PostgreSQL, InfluxDB 1.x and Prometheus on 127.0.0.1 for dev/test/demo.
State: $SVC_DIR

  install              apt-get install what is missing (postgresql, influxdb,
                       influxdb-client, prometheus, curl, openssh-client,
                       openssh-sftp-server); no-op otherwise
  up                   install (unless POWERVIEW_SKIP_INSTALL=1), start all, wait
  down                 stop all (idempotent)
  start [SERVICE...]   start and wait (all when none named); never installs
  stop [SERVICE...]    stop (all when none named)
  restart [SERVICE...] stop then start
  status               one line per service
  env                  export lines for the product (eval "\$(ops/services.sh env)")
  reset                down, then delete $SVC_DIR

SERVICE: postgres | influxdb | prometheus
Database: $PG_DATABASE (created by up/start postgres when missing)
Ports: postgres $PG_PORT, influxdb $INFLUX_PORT (rpc $INFLUX_RPC_PORT), prometheus $PROM_PORT
EOF
}

main() {
  local cmd=${1:-help}
  (($# > 0)) && shift
  case $cmd in
    install) take_lock; cmd_install ;;
    up) take_lock; cmd_up ;;
    down) cmd_down ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_restart "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    reset) take_lock; cmd_reset ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
