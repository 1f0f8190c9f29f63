/**
 * discover(): PATHs → files with their company/campaign/device
 * (`<root>/<company>/<campaign>/<device>/<file>.tsv`), and identityOf().
 */
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { discover, identityOf, isIgnoredName, PROCESSED_DIRS } from '../../src/pipeline/discover.js';
import { ErrorCodes, PowerViewError, UsageError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'pv-discover-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** a fresh tree: every path (relative to its root) becomes a file with that content */
function tree(files: Record<string, string>): string {
  const root = join(tmp, `t${++n}`);
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, ...path.split('/'));
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

const rel = (root: string, tasks: { path: string }[]) => tasks.map((x) => relative(root, x.path).split(sep).join('/'));

/** rejects with a UsageError of this code whose message matches */
async function rejectsUsage(t: Test, p: Promise<unknown>, code: string, message: RegExp, what: string) {
  try {
    await p;
    t.fail(`${what}: expected a UsageError`);
  } catch (err) {
    t.ok(err instanceof UsageError, `${what}: UsageError`);
    t.ok(err instanceof PowerViewError, `${what}: a PowerViewError`);
    t.equal((err as UsageError).code, code, `${what}: code ${code}`);
    t.match((err as Error).message, message, `${what}: message`);
  }
}

t.test('isIgnoredName: hidden files and SFTPGo upload leftovers are never data', async (t) => {
  for (const name of [
    '.hidden.tsv',
    '.DS_Store',
    '.sftpgo-upload.123.MV2_x.tsv',
    'MV2_x.sftpgo-upload.abc.tsv',
    '.',
    '..',
    '.Trash',
  ]) {
    t.equal(isIgnoredName(name), true, `${name} ignored`);
  }
  for (const name of ['MV2_02001084_20251029T101500.tsv', 'data.TSV', 'sftpgo-upload.tsv', 'parsed', 'a.b.tsv']) {
    t.equal(isIgnoredName(name), false, `${name} kept`);
  }
  t.same([...PROCESSED_DIRS].sort(), ['error', 'parsed']);
});

t.test('identityOf', async (t) => {
  const root = join(tmp, 'r');
  const f = (...p: string[]) => join(root, ...p);
  t.same(identityOf(f('acme', 'camp', '02001084', 'x.tsv'), root), {
    tenant: 'acme',
    campaign: 'camp',
    device: '02001084',
  });
  t.same(
    identityOf(f('acme', 'camp', '02001084', 'parsed', 'x.tsv'), root),
    { tenant: 'acme', campaign: 'camp', device: '02001084' },
    'parsed/: the folder above',
  );
  t.same(
    identityOf(f('acme', 'camp', '02001084', 'error', 'x.tsv'), root),
    { tenant: 'acme', campaign: 'camp', device: '02001084' },
    'error/: the folder above',
  );
  t.same(
    identityOf(f('acme', 'camp', '02001084', 'x.tsv'), `${root}${sep}`),
    { tenant: 'acme', campaign: 'camp', device: '02001084' },
    'root with a trailing separator',
  );
  t.equal(identityOf(f('acme', 'camp', 'x.tsv'), root), null, 'too shallow');
  t.equal(identityOf(f('acme', 'camp', 'dev', 'more', 'x.tsv'), root), null, 'too deep');
  t.equal(
    identityOf(f('acme', 'camp', 'dev', 'archive', 'x.tsv'), root),
    null,
    'only parsed/ and error/ are skipped over',
  );
  t.equal(identityOf(join(tmp, 'other', 'acme', 'camp', 'dev', 'x.tsv'), root), null, 'outside the root');
  t.equal(identityOf(f('x.tsv'), f('acme', 'camp', 'dev')), null, 'above the root');
  t.same(
    identityOf(f('acme', 'camp', 'dev', 'x.tsv'), root, { company: 'other', campaign: 'c2' }),
    { tenant: 'other', campaign: 'c2', device: 'dev' },
    'overrides replace company and campaign, the device stays',
  );
  t.same(
    identityOf(f('acme', 'x.tsv'), root, { company: 'other', campaign: 'c2' }),
    { tenant: 'other', campaign: 'c2' },
    'outside the layout with overrides: no device',
  );
  t.equal(identityOf(f('acme', 'x.tsv'), root, { company: 'other' }), null, 'one override alone does not place a file');
});

t.test('root inferred from the paths', async (t) => {
  const root = tree({
    'acme/camp/02001084/MV2_b.tsv': 'b',
    'acme/camp/02001084/MV2_a.tsv': 'a',
    'acme/camp/02001171/MV2_c.tsv': 'cc',
    'beta/c2/02000800/MV2_d.tsv': 'ddd',
  });
  const tasks = await discover([root]);
  t.same(
    rel(root, tasks),
    [
      'acme/camp/02001084/MV2_a.tsv',
      'acme/camp/02001084/MV2_b.tsv',
      'acme/camp/02001171/MV2_c.tsv',
      'beta/c2/02000800/MV2_d.tsv',
    ],
    'by path',
  );
  t.same(
    tasks.map((x) => x.identity),
    [
      { tenant: 'acme', campaign: 'camp', device: '02001084' },
      { tenant: 'acme', campaign: 'camp', device: '02001084' },
      { tenant: 'acme', campaign: 'camp', device: '02001171' },
      { tenant: 'beta', campaign: 'c2', device: '02000800' },
    ],
  );
  t.same(
    tasks.map((x) => x.size),
    [1, 1, 2, 3],
    'sizes known up front',
  );
  t.ok(
    tasks.every((x) => x.path.startsWith(root)),
    'absolute paths',
  );

  // from any level: a company, a campaign, a device folder, a single file
  for (const start of ['acme', 'acme/camp', 'acme/camp/02001084', 'acme/camp/02001084/MV2_a.tsv']) {
    const [first] = await discover([join(root, ...start.split('/'))]);
    t.same(first.identity, { tenant: 'acme', campaign: 'camp', device: '02001084' }, `from ${start}`);
  }
  // a relative PATH is resolved against the working directory
  const relative1 = relative(process.cwd(), join(root, 'acme', 'camp'));
  const fromRel = await discover([relative1]);
  t.same(rel(root, fromRel), [
    'acme/camp/02001084/MV2_a.tsv',
    'acme/camp/02001084/MV2_b.tsv',
    'acme/camp/02001171/MV2_c.tsv',
  ]);
  t.ok(
    fromRel.every((x) => x.path.startsWith(root)),
    'resolved to absolute paths',
  );
});

t.test('--root given', async (t) => {
  const root = tree({ 'acme/camp/dev1/a.tsv': 'x', 'acme/camp/dev1/parsed/p.tsv': 'x' });
  const tasks = await discover([join(root, 'acme')], { root });
  t.same(
    tasks.map((x) => x.identity),
    [{ tenant: 'acme', campaign: 'camp', device: 'dev1' }],
  );
  const relRoot = relative(process.cwd(), root);
  const viaRelRoot = await discover([join(root, 'acme', 'camp', 'dev1', 'a.tsv')], { root: relRoot });
  t.same(viaRelRoot[0].identity, { tenant: 'acme', campaign: 'camp', device: 'dev1' }, 'a relative root is resolved');
  await rejectsUsage(
    t,
    discover([join(root, 'acme', 'camp', 'dev1', 'a.tsv')], { root: join(root, 'acme') }),
    ErrorCodes.PATH_LAYOUT,
    /a\.tsv is not at <root>\/<company>\/<campaign>\/<device>\/<file> under .*--root/,
    'the root too low',
  );
  await rejectsUsage(
    t,
    discover([join(root, 'acme', 'camp', 'dev1', 'a.tsv')], { root: join(tmp, 'elsewhere') }),
    ErrorCodes.PATH_LAYOUT,
    /--root/,
    'a root the file is not under',
  );
  const withOverrides = await discover([join(root, 'acme', 'camp', 'dev1', 'a.tsv')], {
    root: join(tmp, 'elsewhere'),
    company: 'c',
    campaign: 'k',
  });
  t.same(
    withOverrides[0].identity,
    { tenant: 'c', campaign: 'k' },
    'outside the root with --company/--campaign: taken, no device',
  );
});

t.test('overrides: --company and --campaign', async (t) => {
  const root = tree({ 'acme/camp/dev1/a.tsv': 'x', 'loose/b.tsv': 'y' });
  const inLayout = await discover([join(root, 'acme')], { root, company: 'newco', campaign: 'newcamp' });
  t.same(
    inLayout[0].identity,
    { tenant: 'newco', campaign: 'newcamp', device: 'dev1' },
    'in the layout under --root: renamed, device kept',
  );
  const mixed = await discover([join(root, 'acme'), join(root, 'loose')], { company: 'newco', campaign: 'newcamp' });
  t.same(
    mixed.map((x) => x.identity),
    [
      { tenant: 'newco', campaign: 'newcamp' },
      { tenant: 'newco', campaign: 'newcamp' },
    ],
    'no common root: every file gets the overrides and no device',
  );
  await rejectsUsage(
    t,
    discover([join(root, 'acme'), join(root, 'loose')], { company: 'newco' }),
    ErrorCodes.PATH_LAYOUT,
    /--company and --campaign/,
    'one override is not enough',
  );
});

t.test(
  'outside the layout with --company/--campaign and no root: the folder name is not taken as a device',
  async (t) => {
    // `<tmp>/tN/samples/x.tsv`: only the inference's filesystem-wide guess fits a layout here
    const root = tree({ 'samples/x.tsv': 'x' });
    const tasks = await discover([join(root, 'samples')], { company: 'company1', campaign: 'campaign1' });
    t.equal(tasks.length, 1);
    t.equal(tasks[0].identity.tenant, 'company1');
    t.equal(tasks[0].identity.campaign, 'campaign1');
    t.equal(tasks[0].identity.device, undefined, 'no device guessed from an arbitrary folder');
  },
);

t.test('ordering by export time in the file name, files without one last by path', async (t) => {
  const root = tree({
    'acme/camp/02001084/T302_251029_101500.tsv': 'x',
    'acme/camp/02001084/T302_250901_000000.tsv': 'x',
    // renamed by the customer: serial in front, export time last (sorts first by path)
    'acme/camp/02001084/T302_02001084_T302_251001_000000.tsv': 'x',
    'acme/camp/02001007/T302_251001_000000.tsv': 'x',
    'acme/camp/02001084/Z.tsv': 'x',
    'acme/camp/02001084/a.tsv': 'x',
  });
  const walked = rel(root, await discover([root]));
  const expected = [
    'acme/camp/02001084/T302_250901_000000.tsv',
    'acme/camp/02001007/T302_251001_000000.tsv',
    'acme/camp/02001084/T302_02001084_T302_251001_000000.tsv',
    'acme/camp/02001084/T302_251029_101500.tsv',
    'acme/camp/02001084/Z.tsv',
    'acme/camp/02001084/a.tsv',
  ];
  t.same(walked, expected, 'by export time; equal times and names without one by path, code-unit order (not locale)');

  // a file named twice, or inside a folder also named, is taken once
  const dev = join(root, 'acme', 'camp', '02001084');
  const twice = await discover([dev, join(dev, 'a.tsv'), join(dev, 'a.tsv')]);
  t.equal(twice.length, 5, 'no duplicates');

  // the export order of a device's files must not depend on the argument order
  const files = expected.map((p) => join(root, ...p.split('/')));
  const reversed = rel(root, await discover([...files].reverse()));
  t.same(reversed, expected, 'explicit files given in reverse come out in export order');
  const split = rel(
    root,
    await discover([join(root, 'acme', 'camp', '02001084'), join(root, 'acme', 'camp', '02001007')]),
  );
  t.same(split, expected, 'folders given out of order come out in export order');
});

t.test('ordering: a _UTC name against a local one in the tenant zone', async (t) => {
  const root = tree({
    // 01:30 UTC is 03:30 in Paris (summer): after the local 02:00 export
    'acme/camp/dev/T302_250801_013000_UTC.tsv': 'x',
    'acme/camp/dev/T302_250801_020000.tsv': 'x',
  });
  t.same(
    rel(root, await discover([root])),
    ['acme/camp/dev/T302_250801_020000.tsv', 'acme/camp/dev/T302_250801_013000_UTC.tsv'],
    'Europe/Paris',
  );
  t.same(
    rel(root, await discover([root], { timeZone: 'UTC' })),
    ['acme/camp/dev/T302_250801_013000_UTC.tsv', 'acme/camp/dev/T302_250801_020000.tsv'],
    'a UTC tenant: by the written times',
  );
});

t.test('walking: ignored names, parsed/ and error/, non-TSV files, symlinks', async (t) => {
  const root = tree({
    'acme/camp/dev/a.tsv': 'x',
    'acme/camp/dev/B.TSV': 'x',
    'acme/camp/dev/c.Tsv': 'x',
    'acme/camp/dev/.hidden.tsv': 'x',
    'acme/camp/dev/.sftpgo-upload.1.d.tsv': 'x',
    'acme/camp/dev/e.sftpgo-upload.2.tsv': 'x',
    'acme/camp/dev/notes.txt': 'x',
    'acme/camp/dev/f.tsv.part': 'x',
    'acme/camp/dev/parsed/p.tsv': 'x',
    'acme/camp/dev/error/q.tsv': 'x',
    'acme/camp/.snapshots/dev/s.tsv': 'x',
    'acme/.old/dev/o.tsv': 'x',
  });
  t.same(
    rel(root, await discover([root])),
    ['acme/camp/dev/B.TSV', 'acme/camp/dev/a.tsv', 'acme/camp/dev/c.Tsv'],
    'pending TSV files only',
  );
  const all = await discover([root], { includeProcessed: true });
  t.same(
    rel(root, all),
    [
      'acme/camp/dev/B.TSV',
      'acme/camp/dev/a.tsv',
      'acme/camp/dev/c.Tsv',
      'acme/camp/dev/error/q.tsv',
      'acme/camp/dev/parsed/p.tsv',
    ],
    'includeProcessed walks parsed/ and error/, still not hidden folders',
  );
  t.ok(
    all.every((x) => x.identity.device === 'dev'),
    'files in parsed/ and error/ belong to the device above',
  );

  const explicit = await discover([join(root, 'acme', 'camp', 'dev', 'parsed', 'p.tsv')]);
  t.same(
    explicit.map((x) => x.identity),
    [{ tenant: 'acme', campaign: 'camp', device: 'dev' }],
    'a file named inside parsed/ is taken, device = folder above',
  );
  const explicitDir = await discover([join(root, 'acme', 'camp', 'dev', 'error')]);
  t.same(rel(root, explicitDir), ['acme/camp/dev/error/q.tsv'], 'an error/ folder named explicitly is walked');
  t.same(explicitDir[0].identity, { tenant: 'acme', campaign: 'camp', device: 'dev' });

  t.same(
    await discover([join(root, 'acme', 'camp', 'dev', 'parsed', '..', 'parsed', '..', 'a.tsv')]).then((x) =>
      rel(root, x),
    ),
    ['acme/camp/dev/a.tsv'],
    'paths normalised',
  );

  const empty = join(tmp, `empty${++n}`);
  mkdirSync(empty);
  t.same(await discover([empty]), [], 'an empty folder: no files');

  // symlinks into the tree are not followed by the walk (an SFTP user could point anywhere)
  const linked = tree({ 'acme/camp/dev/a.tsv': 'x' });
  symlinkSync(join(root, 'acme', 'camp', 'dev'), join(linked, 'acme', 'camp', 'linkdev'));
  symlinkSync(join(root, 'acme', 'camp', 'dev', 'a.tsv'), join(linked, 'acme', 'camp', 'dev', 'link.tsv'));
  t.same(rel(linked, await discover([linked])), ['acme/camp/dev/a.tsv'], 'symlinked files and folders skipped');
});

t.test('errors', async (t) => {
  await rejectsUsage(t, discover([]), ErrorCodes.USAGE, /no PATH/, 'no PATH');
  await rejectsUsage(
    t,
    discover([join(tmp, 'does', 'not', 'exist')]),
    ErrorCodes.USAGE,
    /does\/not\/exist: no such file or folder/,
    'missing path',
  );

  const root = tree({ 'acme/camp/dev/a.tsv': 'x', 'acme/camp/b.tsv': 'x' });
  await rejectsUsage(
    t,
    discover([root]),
    ErrorCodes.PATH_LAYOUT,
    /cannot infer the data root.*<root>\/<company>\/<campaign>\/<device>\/<file>.*--root.*--company and --campaign/,
    'files at different depths',
  );
  await rejectsUsage(
    t,
    discover([join(root, 'acme', 'camp', 'dev', 'a.tsv'), join(root, 'acme', 'camp', 'b.tsv')]),
    ErrorCodes.PATH_LAYOUT,
    /cannot infer the data root/,
    'explicit files at different depths',
  );
  await rejectsUsage(
    t,
    discover([join(root, 'acme', 'camp', 'b.tsv')], { root }),
    ErrorCodes.PATH_LAYOUT,
    /b\.tsv is not at/,
    'a file one level too shallow under --root',
  );
  const other = tree({ 'x/y/z/c.tsv': 'x' });
  await rejectsUsage(
    t,
    discover([join(root, 'acme', 'camp', 'dev', 'a.tsv'), join(other, 'x', 'y', 'z', 'c.tsv')]),
    ErrorCodes.PATH_LAYOUT,
    /cannot infer the data root/,
    'two trees with different roots',
  );
  const ok = await discover([join(root, 'acme', 'camp', 'dev', 'a.tsv'), join(other, 'x', 'y', 'z', 'c.tsv')], {
    company: 'c',
    campaign: 'k',
  });
  t.same(
    ok.map((x) => x.identity),
    [
      { tenant: 'c', campaign: 'k' },
      { tenant: 'c', campaign: 'k' },
    ],
    'with --company/--campaign they are taken',
  );
});
