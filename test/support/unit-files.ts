/**
 * `npm run test:unit`: the test files that need no service, run by tap.
 *
 * A test file needs the services when it imports test/support/services.ts,
 * directly or through another module of test/ (serve-harness.ts and
 * postgres-db.ts do): that is the only way a test gets the services'
 * environment (servicesUp), so the split follows the code and cannot go
 * stale. A file that reaches test/support/cli-helpers.ts starts the real
 * `bin/powerview.js` (a process per case: seconds each) and is left out too,
 * unless `--with-cli` is given. Everything else is a unit file, run in-process
 * in seconds. `npm test` still runs every file.
 *
 *   node dist/test/support/unit-files.js --list   the unit files, one a line
 *   node dist/test/support/unit-files.js [ARGS]   tap ARGS over those files
 *   node dist/test/support/unit-files.js --with-cli   the CLI process tests as well
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from './helpers.js';

// the sources, not dist/: a test file deleted or moved may still have its old build in dist/
const testDir = join(projectRoot, 'test');
const harness = join(testDir, 'support', 'services.ts');
const cliHarness = join(testDir, 'support', 'cli-helpers.ts');

/** Every *.test.ts under test/, sorted. */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

/** The relative modules a source file imports, statically or with import() (`x.js` is `x.ts`). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

/** Does `file` reach `target` (a harness module) through test/ modules? */
function reaches(file: string, target: string, seen: Map<string, boolean>): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  seen.set(file, false); // a cycle adds nothing
  const result = file === target || imports(file).some((f) => f.startsWith(testDir) && reaches(f, target, seen));
  seen.set(file, result);
  return result;
}

const args = process.argv.slice(2).filter((a) => a !== '--with-cli');
const withCli = process.argv.includes('--with-cli');
const seenServices = new Map<string, boolean>();
const seenCli = new Map<string, boolean>();
const unit = testFiles(testDir)
  .filter((f) => !reaches(f, harness, seenServices) && (withCli || !reaches(f, cliHarness, seenCli)))
  .map((f) => join(projectRoot, 'dist', relative(projectRoot, f)).replace(/\.ts$/, '.js'));
if (unit.length === 0) throw new Error(`no unit test file under ${testDir}`);
if (args.includes('--list')) {
  for (const f of unit) console.log(relative(projectRoot, f));
} else {
  const tap = join(projectRoot, 'node_modules', '.bin', 'tap');
  const r = spawnSync(tap, [...args, ...unit.map((f) => relative(projectRoot, f))], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  process.exitCode = r.status ?? 1;
}
