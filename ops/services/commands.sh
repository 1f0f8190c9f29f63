# shellcheck shell=bash
# ops/services/commands.sh — the commands of ops/services.sh over the services
# (each service file defines start_NAME, stop_NAME, NAME_pid and NAME_address).

canonical_name() {
  case $1 in
    postgres | postgresql | pg) echo postgres ;;
    influxdb | influx | influxd) echo influxdb ;;
    prometheus | prom) echo prometheus ;;
    *)
      printf '[services] error: unknown service "%s" (postgres, influxdb, prometheus)\n' "$1" >&2
      exit 2
      ;;
  esac
}

# NAMES: the canonical names of "$@", all services when none; exit 2 on an unknown one
NAMES=()
select_names() {
  local out n
  if (($# == 0)); then
    NAMES=("${SERVICES[@]}")
    return
  fi
  out=$(for n in "$@"; do canonical_name "$n"; done) || exit 2
  mapfile -t NAMES <<<"$out"
}

cmd_start() {
  local n
  select_names "$@"
  take_lock
  for n in "${NAMES[@]}"; do "start_$n"; done
}

# in reverse order: prometheus, influxdb, postgres
cmd_stop() {
  local i
  select_names "$@"
  take_lock
  for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do "stop_${NAMES[i]}"; done
}

cmd_restart() {
  local n
  select_names "$@"
  take_lock
  for n in "${NAMES[@]}"; do "stop_$n"; "start_$n"; done
}

cmd_up() {
  if [[ ${POWERVIEW_SKIP_INSTALL:-0} != 1 ]]; then cmd_install; fi
  cmd_start "${SERVICES[@]}"
  cmd_status
}

# one line per service: name, running/stopped, pid, address; always exits 0
cmd_status() {
  local n pid
  for n in "${SERVICES[@]}"; do
    if pid=$("${n}_pid" 2>/dev/null); then
      printf '%-11s %-8s pid %-8s %s\n' "$n" running "$pid" "$("${n}_address")"
    else
      printf '%-11s %-8s pid %-8s %s\n' "$n" stopped - "$("${n}_address")"
    fi
  done
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

# deletes the state dir: the default one, or another that holds only what this script writes
cmd_reset() {
  cmd_stop "${SERVICES[@]}"
  local entry
  if [[ $SVC_DIR != */.powerview/services && -d $SVC_DIR ]]; then
    for entry in "$SVC_DIR"/* "$SVC_DIR"/.[!.]*; do
      [[ -e $entry ]] || continue
      case ${entry##*/} in
        postgres | influxdb | prometheus | .lock) ;;
        *) die "refusing to delete $SVC_DIR: it holds $entry, which ops/services.sh did not write" ;;
      esac
    done
  fi
  log "reset: deleting $SVC_DIR"
  rm -rf -- "$SVC_DIR"
}
