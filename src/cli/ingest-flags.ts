import type { InfluxFlags } from '../influx/config.js';

export interface IngestFlags extends InfluxFlags {
  dryRun?: boolean;
  json?: boolean;
  lpOut?: string;
  root?: string;
  v002Timezone?: string;
  workers?: string;
  blockSize?: string;
  includeProcessed?: boolean;
  company?: string;
  campaign?: string;
  progress?: boolean;
  verify?: boolean;
  reportDir?: string;
  metaDb?: string;
  logFile?: string;
  logLevel?: string;
  databaseUrl?: string;
  postgres?: boolean;
  force?: boolean;
  metricsFile?: string;
  pgWait?: string;
}
