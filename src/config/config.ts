import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ErrorCodes, UsageError } from '../errors.js';
import { DEFAULT_V002_TIME_ZONE, TimeZoneRules } from '../tsv/timezone.js';

/** Loads `.env` from the working directory when present (real environment wins). */
export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  const before = { ...process.env };
  process.loadEnvFile(path);
  for (const [k, v] of Object.entries(before)) process.env[k] = v;
}

export interface IngestConfig {
  dataRoot?: string;
  v002TimeZone: string;
  workers: number;
  blockBytes: number;
}

/** Precedence: flags, then environment (and .env), then defaults. Frozen once validated. */
export function resolveIngestConfig(
  flags: {
    root?: string;
    v002Timezone?: string;
    workers?: string;
    blockSize?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): Readonly<IngestConfig> {
  const zone = flags.v002Timezone ?? env.POWERVIEW_V002_TIMEZONE ?? DEFAULT_V002_TIME_ZONE;
  if (!TimeZoneRules.isValid(zone)) {
    throw new UsageError(
      `--v002-timezone / POWERVIEW_V002_TIMEZONE: unknown time zone "${zone}" (use an IANA name such as Europe/Paris, or UTC)`,
      ErrorCodes.TIMEZONE,
    );
  }
  const workersText = flags.workers ?? env.POWERVIEW_WORKERS;
  let workers = availableParallelism();
  if (workersText !== undefined && workersText !== '') {
    workers = Number(workersText);
    if (!Number.isInteger(workers) || workers < 0 || workers > 256) {
      throw new UsageError(
        `--workers / POWERVIEW_WORKERS must be an integer from 0 to 256, got "${workersText}"`,
        ErrorCodes.CONFIG,
      );
    }
  }
  let blockBytes = 256 * 1024;
  if (flags.blockSize !== undefined) {
    blockBytes = Number(flags.blockSize);
    if (!Number.isInteger(blockBytes) || blockBytes < 1) {
      throw new UsageError(
        `--block-size must be a positive number of bytes, got "${flags.blockSize}"`,
        ErrorCodes.CONFIG,
      );
    }
  }
  const dataRoot = flags.root ?? (env.POWERVIEW_DATA_ROOT || undefined);
  return Object.freeze({ dataRoot, v002TimeZone: zone, workers, blockBytes });
}
