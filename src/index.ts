export { ErrorCodes, PowerViewError, UsageError, FileFormatError, type ErrorCode } from './errors.js';
export {
  parseHeader,
  buildChannels,
  splitNameUnit,
  SUPPORTED_FORMATS,
  type Channel,
  type FileHeader,
} from './tsv/header.js';
export { FileScanner, type Block, type ScanResult } from './tsv/scanner.js';
export { parseBlock, type BlockResult, type BlockStats, type SeriesTable } from './tsv/block-parser.js';
export { buildSeriesTable, MEASUREMENT, type FileIdentity } from './influx/series.js';
export { TimeZoneRules } from './tsv/timezone.js';
export { LocalTimeResolver } from './tsv/local-time.js';
export { escapeMeasurement, escapeTag, seriesPrefix } from './influx/line-protocol.js';
export { Pipeline, type PipelineOptions, type FileTask } from './pipeline/pipeline.js';
export { discover, type DiscoverOptions } from './pipeline/discover.js';
export { CountingSink, StreamSink, type LpSink } from './pipeline/sink.js';
export type { FileReport, RunReport } from './pipeline/report.js';
export { StoreError, TenantNameError } from './errors.js';
export { resolveInfluxConfig, isSafeTenantName, type InfluxConfig, type InfluxApi } from './influx/config.js';
export { InfluxHttp } from './influx/http-api.js';
export { InfluxWriter, type RetryPolicy, type WriterHooks } from './influx/writer.js';
export { LpBatcher, type FileWriteOutcome } from './influx/batcher.js';
export { runIngestJob, type IngestJobOptions, type IngestJobResult } from './pipeline/ingest-job.js';
export { moveFinished, destinationDir } from './pipeline/lifecycle.js';
export { ExactlyOnce } from './pipeline/exactly-once.js';
export { runsOf, HeldPoints, FileCoverage, samplingStep, type Run } from './pipeline/coverage.js';
export { IngestStore } from './postgres/ingest-store.js';
export { provisionTenant, type ProvisionOptions, type ProvisionResult } from './provision/tenant.js';
export { resolveTenantSecret, tenantPassword, scramVerifier } from './provision/secrets.js';
export { buildTree, staticTree, tenantTree, writeTree, type Tree, type TreeOptions } from './grafana/tree.js';
export { readCatalog, type GrafanaCatalog, type TenantEntry } from './grafana/catalog.js';
export { applyGrafana, resolveGrafanaApi, type GrafanaApiConfig } from './grafana/apply.js';
