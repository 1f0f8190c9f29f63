/** The file report rendered once from the stages' values (renderFileReport): pure, the parser's value untouched. */
import t from 'tap';
import { ErrorCodes } from '../../src/errors.js';
import { emptyFileReport, renderFileReport, type FileReport } from '../../src/pipeline/report.js';

function parsedFile(patch: Partial<FileReport> = {}): Readonly<FileReport> {
  const p = { ...emptyFileReport('/d/acme/c1/dev/a.tsv', { tenant: 'acme', campaign: 'c1' }), ...patch };
  p.warnings = ['from the parser'];
  return Object.freeze(p);
}

t.test('stages not reached stay absent; those reached are rendered', async (t) => {
  const parsed = parsedFile({ points: 10, sha256: 'ab' });
  const bare = renderFileReport({ parsed, error: null, warnings: [] });
  for (const k of ['written', 'moved_to', 'verify', 'layout_drift', 'held_points', 'ledger']) t.notOk(k in bare, k);
  const full = renderFileReport({
    parsed,
    written: { lines: 10, batches: 1 },
    movedTo: '/d/parsed/a.tsv',
    verify: { expected: 10, found: 10 },
    plan: { layoutDrift: true, heldPoints: 2 },
    ledger: { file_id: 7, noop: null },
    error: null,
    warnings: ['from a later stage'],
  });
  t.equal(full.status, 'ok');
  t.same(full.written, { lines: 10, batches: 1 });
  t.equal(full.moved_to, '/d/parsed/a.tsv');
  t.equal(full.layout_drift, true);
  t.equal(full.held_points, 2);
  t.same(full.ledger, { file_id: 7, noop: null });
  t.same(full.warnings, ['from the parser', 'from a later stage']);
});

t.test("a later stage's failure makes the status; the parser's value is never changed", async (t) => {
  const parsed = parsedFile();
  const before = JSON.stringify(parsed);
  const r = renderFileReport({
    parsed,
    error: { code: ErrorCodes.VERIFY_MISMATCH, message: 'short' },
    movedTo: null,
    warnings: ['w'],
  });
  t.equal(r.status, 'error');
  t.equal(r.error?.code, ErrorCodes.VERIFY_MISMATCH);
  t.equal(JSON.stringify(parsed), before);
  t.not(r.warnings, parsed.warnings);
});

t.test("the parser's failure stands when no later stage failed; a hash taken after it fills sha256", async (t) => {
  const parsed = parsedFile({ status: 'error', error: { code: ErrorCodes.NO_VALID_ROW, message: 'no valid row' } });
  const r = renderFileReport({ parsed, sha256: 'cd', error: null, warnings: [] });
  t.equal(r.status, 'error');
  t.equal(r.error?.code, ErrorCodes.NO_VALID_ROW);
  t.equal(r.sha256, 'cd');
  t.equal(
    renderFileReport({ parsed: parsedFile({ sha256: 'ab' }), sha256: 'cd', error: null, warnings: [] }).sha256,
    'ab',
  );
});
