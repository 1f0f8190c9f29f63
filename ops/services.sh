#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ops/services.sh — local PostgreSQL, InfluxDB 1.x and Prometheus for dev, tests
# and demos. Everything binds to 127.0.0.1; data, logs, pid files and generated
# configs live under <repo>/.powerview/services/ (git-ignored; POWERVIEW_SERVICES_DIR
# names another state dir). One file per service under ops/services/.
#
#   ops/services.sh install | up | down | status | env | reset
#   ops/services.sh start|stop|restart [postgres|influxdb|prometheus ...]
#
# See docs/operations.md, "Local services (ops/services.sh)".
set -euo pipefail

SCRIPT_PATH=$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")
OPS_DIR=$(cd "$(dirname "$SCRIPT_PATH")" && pwd)
REPO_DIR=$(cd "$OPS_DIR/.." && pwd)

. "$OPS_DIR/services/common.sh"
. "$OPS_DIR/services/install.sh"
. "$OPS_DIR/services/postgres-cluster.sh"
. "$OPS_DIR/services/postgres.sh"
. "$OPS_DIR/services/influxdb.sh"
. "$OPS_DIR/services/prometheus.sh"
. "$OPS_DIR/services/commands.sh"

usage() {
  cat <<EOF
usage: ops/services.sh COMMAND [SERVICE...]

Local PostgreSQL, InfluxDB 1.x and Prometheus on 127.0.0.1 for dev/test/demo.
State: $SVC_DIR

  install              apt-get install what is missing (postgresql, influxdb,
                       influxdb-client, prometheus, curl, openssh-client,
                       openssh-sftp-server, poppler-utils, shellcheck); no-op
                       otherwise
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
  check_settings
  case $cmd in
    install) take_lock; cmd_install ;;
    up) take_lock; cmd_up ;;
    down) cmd_stop "${SERVICES[@]}" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_restart "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    reset) take_lock; cmd_reset ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
