# shellcheck shell=bash
# ops/services/postgres.sh — PostgreSQL on 127.0.0.1:$PG_PORT: binaries,
# start (password and database ensured), stop, pid. pg_ctl owns the process
# (postmaster.pid in the data dir); the cluster on disk: postgres-cluster.sh.
# shellcheck disable=SC2034  # PG_* paths are read by postgres-cluster.sh

PG_DIR="$SVC_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

# PostgreSQL bin dir: $POWERVIEW_PG_BINDIR, else the version matching an
# existing data dir, else the newest /usr/lib/postgresql/*/bin, else $PATH.
pg_bindir() {
  local d want=''
  if [[ -n ${POWERVIEW_PG_BINDIR:-} ]]; then
    [[ -x $POWERVIEW_PG_BINDIR/postgres ]] || return 1
    printf '%s\n' "$POWERVIEW_PG_BINDIR"
    return 0
  fi
  if [[ -r $PG_DATA/PG_VERSION ]]; then read -r want <"$PG_DATA/PG_VERSION" 2>/dev/null || true; fi
  if [[ -n $want && -x /usr/lib/postgresql/$want/bin/postgres ]]; then
    printf '%s\n' "/usr/lib/postgresql/$want/bin"
    return 0
  fi
  while read -r d; do
    if [[ -x $d/postgres ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  if have postgres && have pg_ctl && have initdb; then
    dirname -- "$(command -v postgres)"
    return 0
  fi
  return 1
}

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

pg_running() {
  [[ -f $PG_DATA/PG_VERSION ]] || return 1
  PG_BIN=$(pg_bindir) || return 1
  as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" status >/dev/null 2>&1
}

postgres_pid() {
  local pid
  pg_running || return 1
  read -r pid <"$PG_DATA/postmaster.pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

postgres_address() { printf '%s\n' "$HOST:$PG_PORT"; }

pg_ready() { "$(pg_bin pg_isready)" -q -h "$HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

# psql as the postgres role over the local socket (peer auth)
pg_psql() {
  as_pg "$(pg_bin psql)" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$PG_PORT" -U postgres -d postgres "$@"
}

start_postgres() {
  pg_bin postgres >/dev/null
  pg_prepare_dirs
  pg_initdb
  if pg_running; then
    log "postgres: already running (pid $(postgres_pid || echo ?)) on $HOST:$PG_PORT"
  else
    if port_busy "$PG_PORT"; then
      die "postgres: port $HOST:$PG_PORT is taken by another process (set POWERVIEW_PG_PORT)"
    fi
    pg_write_config
    log "postgres: starting on $HOST:$PG_PORT"
    printf '=== %s: ops/services.sh starting postgres ===\n' "$(date -u +%FT%TZ)" |
      as_pg tee -a "$PG_LOG" >/dev/null
    if ! as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" -s start; then
      fail_with_log "postgres: pg_ctl start failed" "$PG_LOG"
    fi
  fi
  wait_ready postgres "$PG_LOG" pg_ready postgres_pid
  # the password follows POWERVIEW_PG_PASSWORD (set over the local socket, peer auth)
  local q_pw=${PG_PASSWORD//\'/\'\'}
  if ! printf "SET log_statement = 'none';\nALTER ROLE postgres WITH LOGIN PASSWORD '%s';\n" "$q_pw" |
    pg_psql >/dev/null; then
    die "postgres: could not set the postgres password over the local socket"
  fi
  pg_ensure_database
  log "postgres: ready on $HOST:$PG_PORT (pid $(postgres_pid || echo ?))"
}

# the product's database ($PG_DATABASE, owner postgres), created when missing;
# `powerview migrate` fills it
pg_ensure_database() {
  local exists
  exists=$(pg_psql -At -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'") ||
    die "postgres: could not list databases over the local socket"
  [[ $exists == 1 ]] && return 0
  pg_psql -c "CREATE DATABASE \"$PG_DATABASE\" OWNER postgres" >/dev/null ||
    die "postgres: could not create database $PG_DATABASE"
  log "postgres: created database $PG_DATABASE"
}

stop_postgres() {
  if ! pg_running; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping (pid $(postgres_pid || echo ?))"
  if ! as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s stop; then
    log "postgres: fast shutdown did not finish in ${STOP_TIMEOUT}s; immediate shutdown"
    as_pg "$(pg_bin pg_ctl)" -D "$PG_DATA" -m immediate -w -t "$STOP_TIMEOUT" -s stop || true
  fi
  log "postgres: stopped"
}
