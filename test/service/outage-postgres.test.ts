/**
 * PostgreSQL down for 60 s under a stream of uploads to serve (test/support/outage.ts): hooks
 * answered, /readyz names the store, no file moves before it is back, the backlog drains,
 * nothing goes to error/, nothing is lost or doubled. POWERVIEW_TEST_OUTAGE_SECONDS shortens it.
 */
import t from 'tap';
import { servicesSkip } from '../support/services.js';
import { OUTAGE_S, OUTAGE_TIMEOUT_MS, outage } from '../support/outage.js';

t.setTimeout(OUTAGE_TIMEOUT_MS);

t.test(`PostgreSQL down for ${OUTAGE_S} s under a stream of uploads`, { skip: servicesSkip }, (t) =>
  outage(t, 'postgres'),
);
