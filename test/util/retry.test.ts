import t from 'tap';
import { BACKOFF, backoffDelay } from '../../src/util/retry.js';

t.test('the delay doubles per attempt, stays in the upper half of its step and stops at the cap', async (t) => {
  const policy = { baseMs: 100, maxMs: 1000 };
  for (let attempt = 0; attempt < 30; attempt++) {
    const step = Math.min(1000, 100 * 2 ** attempt);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(policy, attempt);
      if (d < step / 2 || d > step) t.fail(`attempt ${attempt}: ${d} ms outside [${step / 2}, ${step}]`);
    }
  }
  t.ok(backoffDelay(policy, 1e9) <= 1000, 'a huge attempt number still gives the cap, not Infinity');
});

t.test('the named schedules are frozen and ordered base ≤ cap', async (t) => {
  t.ok(Object.isFrozen(BACKOFF));
  for (const [name, b] of Object.entries(BACKOFF)) {
    t.ok(Object.isFrozen(b), `${name} frozen`);
    t.ok(b.baseMs > 0 && b.baseMs <= b.maxMs, `${name}: 0 < base ≤ cap`);
  }
});
