import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destinationDir, moveFinished } from '../../src/pipeline/lifecycle.js';
import { isSafeTenantName, resolveInfluxConfig, tenantNameProblem } from '../../src/influx/config.js';

function device(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pv-life-')), 'acme', 'c1', '02001171');
  mkdirSync(dir, { recursive: true });
  return dir;
}

t.test('destination folders', async (t) => {
  t.equal(destinationDir('/r/a/c/d/f.tsv', 'parsed'), '/r/a/c/d/parsed');
  t.equal(destinationDir('/r/a/c/d/parsed/f.tsv', 'parsed'), null, 'already in parsed/: stays');
  t.equal(destinationDir('/r/a/c/d/error/f.tsv', 'parsed'), '/r/a/c/d/parsed', 'from error/ to the device parsed/');
  t.equal(destinationDir('/r/a/c/d/parsed/f.tsv', 'error'), '/r/a/c/d/error');
});

t.test('a clash never overwrites: name.1.tsv, name.2.tsv', async (t) => {
  const dev = device();
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(dev, 'f.tsv'), `copy ${i}\n`);
    const to = await moveFinished(join(dev, 'f.tsv'), 'parsed');
    t.equal(to, join(dev, 'parsed', i === 0 ? 'f.tsv' : `f.${i}.tsv`));
    t.notOk(existsSync(join(dev, 'f.tsv')));
  }
  for (let i = 0; i < 3; i++)
    t.equal(readFileSync(join(dev, 'parsed', i === 0 ? 'f.tsv' : `f.${i}.tsv`), 'utf8'), `copy ${i}\n`);
});

t.test('error/ gets the cause beside the file', async (t) => {
  const dev = device();
  writeFileSync(join(dev, 'bad.tsv'), '');
  const to = await moveFinished(join(dev, 'bad.tsv'), 'error', { code: 'PV_ERR_EMPTY_FILE', message: 'empty file' });
  t.equal(to, join(dev, 'error', 'bad.tsv'));
  t.same(JSON.parse(readFileSync(`${to}.error.json`, 'utf8')), { code: 'PV_ERR_EMPTY_FILE', message: 'empty file' });
  const stay = await moveFinished(to, 'error');
  t.equal(stay, to, 'a file already in error/ stays');
});

t.test('tenant names', async (t) => {
  for (const ok of ['acme', 'ACME_2', 'campaign-2025', 'a.b', '0x']) t.ok(isSafeTenantName(ok), ok);
  for (const bad of ['', 'bad name', '_x', '-x', '.x', 'a..b', 'a/b', 'a"b', "a'b", 'é', 'x'.repeat(64), 'a;DROP']) {
    t.notOk(isSafeTenantName(bad), JSON.stringify(bad));
  }
  t.match(tenantNameProblem('campaign', 'a b'), /campaign name "a b" is not a safe identifier/);
  // per store: a company is a database name, and InfluxDB 3 takes no '.' (influxdb3_server validate_db_name)
  for (const api of [undefined, 'v1', 'v2'] as const)
    t.equal(tenantNameProblem('company', 'a.b', api), null, `company "a.b" on ${api ?? 'any store'}`);
  t.match(
    tenantNameProblem('company', 'a.b', 'v3'),
    /cannot be an InfluxDB 3 database name: .*no '\.'.*\(e\.g\. "a-b"\)/,
  );
  t.equal(tenantNameProblem('campaign', 'a.b', 'v3'), null, 'a campaign is a tag value: any safe name');
  t.equal(tenantNameProblem('company', 'A_b-9', 'v3'), null);
});

t.test('InfluxDB configuration: flags over environment, validated with messages naming the setting', async (t) => {
  const c = resolveInfluxConfig(
    { influxApi: 'v1', batchLines: '100' },
    { INFLUX_URL: 'http://h:1/', INFLUX_API: 'v3', INFLUX_GZIP: 'true' },
  );
  t.equal(c.api, 'v1', 'flag wins');
  t.equal(c.url, 'http://h:1');
  t.equal(c.batchLines, 100);
  t.equal(c.batchBytes, 4_000_000);
  t.equal(c.concurrency, 4);
  t.equal(c.gzip, true);
  t.equal(c.storeWaitMs, 600_000);
  t.ok(Object.isFrozen(c));
  const creds = resolveInfluxConfig(
    { influxApi: 'v2', influxOrg: 'flag-org', influxToken: 'flag-token' },
    { INFLUX_ORG: 'env-org', INFLUX_TOKEN: 'env-token', INFLUX_USERNAME: 'env-user', INFLUX_PASSWORD: 'env-pw' },
  );
  t.same([creds.org, creds.token], ['flag-org', 'flag-token'], 'credential flags override their variables');
  const basic = resolveInfluxConfig(
    { influxUsername: 'u', influxPassword: 'p' },
    { INFLUX_USERNAME: 'x', INFLUX_PASSWORD: 'y' },
  );
  t.same([basic.username, basic.password], ['u', 'p']);
  const bad: Array<[object, Record<string, string>, RegExp]> = [
    [{}, { INFLUX_API: 'v4' }, /INFLUX_API must be v1, v2 or v3/],
    [{}, { INFLUX_URL: 'ftp://x' }, /must be http/],
    [{}, { INFLUX_URL: 'http://u:p@h' }, /must not carry credentials/],
    [{}, { INFLUX_API: 'v2', INFLUX_TOKEN: 't' }, /needs INFLUX_ORG/],
    [{}, { INFLUX_API: 'v3' }, /needs INFLUX_TOKEN/],
    [{}, { INFLUX_USERNAME: 'u' }, /go together/],
    [{ batchLines: '0' }, {}, /--batch-lines/],
    [{ concurrency: 'x' }, {}, /--concurrency/],
    [{ storeWait: '-1' }, {}, /--store-wait/],
  ];
  for (const [flags, env, re] of bad) t.throws(() => resolveInfluxConfig(flags, env), re);
});
