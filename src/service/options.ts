import type { Pool, ClientConfig } from 'pg';
import type { Logger } from 'pino';
import type { InfluxConfig } from '../influx/config.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PipelineOptions } from '../pipeline/pipeline.js';

/** Provisions a tenant (and campaign): stores, roles, Grafana files. Idempotent. */
export type Provisioner = (tenant: string, campaign: string | null) => Promise<void>;

export interface ServiceOptions {
  /** the data root: `<root>/<company>/<campaign>/<device>/<file>` */
  root: string;
  host: string;
  port: number;
  hookSecret: string;
  /** SFTPGo user → the company folder it may write to, when not its own name (`--hook-user-map`) */
  hookUserMap?: ReadonlyMap<string, string>;
  settleMs: number;
  /** a watch-found file not ending with a newline is taken anyway once unchanged this long (default 600 s) */
  stallMs?: number;
  rescanMs: number;
  /** SIGTERM: in-flight files get this long to finish */
  drainMs: number;
  /** the journal of accepted events lives here (outside the data root: SFTP users never see it) */
  stateDir: string;
  influx: Readonly<InfluxConfig>;
  pool: Pool;
  /** connection settings of the claims session (one dedicated connection) */
  pgClientConfig: ClientConfig;
  pipeline: Pick<PipelineOptions, 'workers' | 'blockBytes' | 'v002TimeZone' | 'maxBlocksInFlight' | 'keepWholeBytes'>;
  provision: Provisioner;
  metaDb?: string;
  logger?: Logger;
  metrics?: Metrics;
  /** a partly filled InfluxDB batch waits at most this long (default INFLUX_LINGER_MS) */
  lingerMs?: number;
  /** files per PostgreSQL commit wait at most this long for others to share it (default COMMIT_LINGER_MS) */
  commitLingerMs?: number;
}
