/**
 * The import graph of src/ has no cycle and no upward arrow: each folder may
 * import only from the folders below it (docs/architecture.md, "Layers").
 * Reads the TypeScript sources themselves, so it needs no build output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const src = join(root, 'src');

/** Lowest first; a folder may import from its own rank or lower ranks only. */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'util', 'log'],
  ['tsv'],
  ['model'],
  ['influx', 'postgres', 'metrics', 'config', 'quality'],
  ['pipeline'],
  ['provision', 'grafana', 'report'],
  ['service'],
  ['cli', 'index.ts'],
];
const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** file (relative to src/, .ts) → the src files it imports */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      targets.push(relative(src, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts'));
    }
    out.set(relative(src, file), targets);
  }
  return out;
}

const top = (file: string): string => file.split('/')[0];

t.test('every src/ folder has a layer', async (t) => {
  const unknown = [...new Set([...graph().keys()].map(top))].filter((f) => !rank.has(f));
  t.same(unknown, [], 'a new folder needs a place in LAYERS (and in docs/architecture.md)');
});

t.test('no folder imports from a folder above it', async (t) => {
  const upward: string[] = [];
  for (const [file, targets] of graph()) {
    for (const target of targets) {
      const from = rank.get(top(file));
      const to = rank.get(top(target));
      if (from !== undefined && to !== undefined && to > from) upward.push(`${file} → ${target}`);
    }
  }
  t.same(upward, [], 'upward imports');
});

t.test('the file-level import graph has no cycle', async (t) => {
  const g = graph();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const next of g.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of g.keys()) visit(file, []);
  t.same(cycles, [], 'import cycles');
});
