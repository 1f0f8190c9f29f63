/**
 * The project's shell scripts (ops/services.sh and its ops/services/*.sh,
 * ops/demo.sh, .ci/run, any other *.sh or shell-shebang file outside
 * node_modules and the build) pass shellcheck, each with the files it sources
 * (-x). Skipped with a message where shellcheck is absent:
 * `ops/services.sh install` installs it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { projectRoot } from '../support/helpers.js';

const ignored = new Set(['node_modules', '.git', '.powerview']);
const shebang = /^#!\s*(?:\/usr\/bin\/env\s+)?(?:\/\S*\/)?(?:ba|da)?sh\b/;

/** The shell scripts below `dir`: `*.sh`, or a file with no extension whose first line is a sh/bash shebang. */
function shellScripts(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!ignored.has(e.name) && !e.name.startsWith('dist')) out.push(...shellScripts(path));
    } else if (e.isFile() && (e.name.endsWith('.sh') || (!e.name.includes('.') && isShell(path)))) {
      out.push(path);
    }
  }
  return out;
}

function isShell(path: string): boolean {
  const head = readFileSync(path).subarray(0, 64).toString('latin1');
  return shebang.test(head.split('\n')[0]);
}

const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const skip = version.error ? 'shellcheck is absent (ops/services.sh install installs it)' : false;

t.test('every shell script passes shellcheck', { skip }, async (t) => {
  const scripts = shellScripts(projectRoot)
    .map((p) => relative(projectRoot, p))
    .sort();
  for (const known of ['.ci/run', 'ops/demo.sh', 'ops/services.sh', 'ops/services/common.sh']) {
    t.ok(scripts.includes(known), `${known} is among the scripts checked`);
  }
  const r = spawnSync('shellcheck', ['-x', '-f', 'gcc', ...scripts], { cwd: projectRoot, encoding: 'utf8' });
  t.notOk(r.error, 'shellcheck ran');
  t.equal(r.stderr, '', 'shellcheck wrote no error');
  const findings = r.stdout.split('\n').filter(Boolean);
  for (const script of scripts) {
    t.same(
      findings.filter((f) => f.startsWith(`${script}:`)),
      [],
      `${script}: no finding`,
    );
  }
  t.equal(r.status, 0, `shellcheck exits 0 (${findings.length} findings)`);
  t.comment(version.stdout.split('\n').find((l) => l.startsWith('version')) ?? '');
});
