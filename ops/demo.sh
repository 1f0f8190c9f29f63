#!/usr/bin/env bash
# The README's first command: local services up, then the bundled samples
# (fixtures/demo) ingested into the local InfluxDB, with the summary, then
# the demo campaign's PDF and xlsx reports in .powerview/demo/reports/.
# The samples are copied to .powerview/demo/data first: ingesting moves files
# to parsed/, and the repository's copy stays as it is.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
ops/services.sh up >&2
eval "$(ops/services.sh env)"
data="$repo/.powerview/demo/data"
rm -rf "$data"
mkdir -p "$data"
cp -r fixtures/demo/. "$data/"
[[ -f dist/src/cli/main.js ]] || npm run build >&2
node bin/powerview.js migrate >&2
echo "ingesting $(find "$data" -name '*.tsv' | wc -l) files from fixtures/demo into $INFLUX_URL (InfluxDB $INFLUX_API) and PostgreSQL ..." >&2
set +e
node bin/powerview.js ingest --root "$data" --report-dir "$repo/.powerview/demo/logs/reports" --log-file "$repo/.powerview/demo/logs/powerview-ingest.log" "$data" "$@"
code=$?
set -e
echo >&2
echo "report: .powerview/demo/logs/reports/, logs: .powerview/demo/logs/powerview-ingest.log" >&2
echo "aggregates: psql \"$DATABASE_URL\" -c 'SELECT * FROM bi.vw_metabase_energy_daily LIMIT 10'" >&2
echo "query it: curl -G -u $INFLUX_USERNAME:$INFLUX_PASSWORD '$INFLUX_URL/query' --data-urlencode db=acme --data-urlencode 'q=SELECT count(*) FROM electrical'" >&2

# The campaign's reports, read as the tenant's own login (docs/reports.md): its password is derived from
# POWERVIEW_TENANT_SECRET, a demo one kept in .powerview/demo/tenant-secret when none is set.
reports="$repo/.powerview/demo/reports"
mkdir -p "$reports"
secret_file="$repo/.powerview/demo/tenant-secret"
if [[ -z "${POWERVIEW_TENANT_SECRET:-}" ]]; then
  [[ -s "$secret_file" ]] || node -e "process.stdout.write(require('crypto').randomBytes(32).toString('base64url'))" >"$secret_file"
  POWERVIEW_TENANT_SECRET="$(cat "$secret_file")"
  export POWERVIEW_TENANT_SECRET
fi
node bin/powerview.js provision acme campaign-2025 --json >/dev/null
for format in pdf xlsx; do
  if ! node bin/powerview.js report acme campaign-2025 --format "$format" --out "$reports/acme_campaign-2025.$format" --json >/dev/null; then
    echo "the $format report failed (above)" >&2
    [[ $code -ne 0 ]] || code=1
  fi
done
written=""
for format in pdf xlsx; do
  [[ -f "$reports/acme_campaign-2025.$format" ]] && written+=".powerview/demo/reports/acme_campaign-2025.$format "
done
echo "reports: ${written}(powerview report acme campaign-2025 --format pdf|xlsx|csv|json)" >&2
exit $code
