# shellcheck shell=bash
# ops/services/install.sh — `ops/services.sh install`: the Debian packages the
# services, the real-SFTP tests, the PDF report tests and the shell lint test
# need, installed only when missing.

missing_packages() {
  pg_bindir >/dev/null || echo postgresql
  have influxd || echo influxdb
  have influx || echo influxdb-client
  have prometheus || echo prometheus
  have curl || echo curl
  # the real OpenSSH sftp client and server: the SFTP-without-hooks tests (test/service/sftp-*.test.ts)
  have sftp || echo openssh-client
  [[ -x /usr/lib/openssh/sftp-server ]] || echo openssh-sftp-server
  # pdftotext, pdftoppm, pdffonts: the PDF report tests read the PDF back (test/report/pdf.test.ts)
  have pdftotext || echo poppler-utils
  # the shell scripts' lint (test/ops/shellcheck.test.ts)
  have shellcheck || echo shellcheck
}

cmd_install() {
  local pkgs
  mapfile -t pkgs < <(missing_packages)
  if ((${#pkgs[@]} == 0)); then
    log "install: postgresql, influxdb, influxdb-client, prometheus, curl, sftp, sftp-server, poppler-utils and shellcheck are present"
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
