/**
 * Exactly-once: overlapping re-exports of one device, the earliest export arriving first (orders 0,1,2 and 0,2,1)
 * (the check: test/support/arrival-orders.ts).
 */
import t from 'tap';
import { servicesSkip } from '../support/services.js';
import { ARRIVAL_ORDERS, checkArrivalOrders } from '../support/arrival-orders.js';

t.setTimeout(600_000);

t.test(
  'overlapping files, the earliest export arriving first: aggregates of the distinct points, InfluxDB holds exactly them',
  { skip: servicesSkip },
  (t) => checkArrivalOrders(t, ARRIVAL_ORDERS.slice(0, 2)),
);
