/**
 * The in-process InfluxDB stand-in, split by API under test/support/influx-mock/
 * (server.ts: recording, routing, faults; v1.ts, v2.ts, v2-auth.ts, v3.ts:
 * the routes, each citing the server source or doc page it follows;
 * line-protocol.ts). This file keeps the import path the tests use.
 */
export { InfluxMock, startInfluxMock } from './influx-mock/server.js';
export { parseLine } from './influx-mock/line-protocol.js';
export type {
  Fault,
  InfluxMockOptions,
  LegacyAuth,
  MockApi,
  MockDbrp,
  MockPermission,
  RecordedRequest,
  ResourceToken,
  StoredPoint,
} from './influx-mock/types.js';
