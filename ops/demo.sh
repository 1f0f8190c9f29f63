#!/usr/bin/env bash
# The README's first command: local services up, then the bundled samples
# (fixtures/demo) ingested into the local InfluxDB, with the summary.
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
exit $code
