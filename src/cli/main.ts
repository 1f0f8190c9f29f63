import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { PowerViewError, UsageError } from '../errors.js';
import { loadDotEnv } from '../config/config.js';
import type { IngestFlags } from './ingest.js';
import type { MigrateFlags } from './migrate.js';
import type { DatasetsDocsFlags } from './datasets.js';
import { registerGrafanaCommands } from './grafana.js';
import { registerProvisionCommand } from './provision.js';
import { registerReportCommand } from './report.js';
import type { ServeFlags } from './serve.js';

/** The package's version (package.json, two folders above dist/src/cli/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('powerview')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .description('PowerView ingest: logger TSV files → InfluxDB line protocol, PostgreSQL aggregates, Grafana')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const ingest = program
    .command('ingest')
    .description('ingest logger TSV files or folders (<root>/<company>/<campaign>/<device>/<file>.tsv)')
    .argument('<paths...>', 'files or folders')
    .option('--dry-run', 'parse and validate, build the line protocol, write and move nothing')
    .option('--json', 'print the JSON report (the default when stdout is not a terminal)')
    .option('--lp-out <file>', 'write the line protocol that would be sent to FILE, or - for stdout')
    .option('--root <dir>', 'data root (default: POWERVIEW_DATA_ROOT, else inferred from the paths)')
    .option(
      '--v002-timezone <zone>',
      'IANA zone of V002 local times; UTC reproduces the earlier tool ' +
        '(default: POWERVIEW_V002_TIMEZONE, else Europe/Paris)',
    )
    .option('--workers <n>', 'parser threads, 0 = main thread (default: POWERVIEW_WORKERS, else the number of cores)')
    .option('--include-processed', 'also walk into parsed/ and error/ folders')
    .option('--company <name>', 'company for files outside the <root>/<company>/<campaign>/<device> layout')
    .option('--campaign <name>', 'campaign for files outside the layout')
    .addOption(new Option('--block-size <bytes>', 'TSV bytes per parser task').hideHelp())
    .option('--no-progress', 'no progress bar')
    .option(
      '--store-wait <seconds>',
      'how long a write keeps retrying an unavailable InfluxDB before the run stops ' +
        '(default: POWERVIEW_STORE_WAIT, else 600)',
    )
    .option('--verify', "count each file's points back from InfluxDB before moving it to parsed/")
    .option(
      '--report-dir <dir>',
      'where the JSON report goes (default: POWERVIEW_REPORT_DIR, else <root>/../logs/reports)',
    )
    .option(
      '--meta-db <name>',
      "database for run and file summaries, '' for none (default: POWERVIEW_META_DB, else powerview_meta)",
    )
    .option(
      '--log-file <file>',
      'structured logs to FILE (default: stderr, or <report-dir>/../powerview-ingest.log under a progress bar)',
    )
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (default: POWERVIEW_LOG_LEVEL, else info)',
    )
    .option(
      '--database-url <url>',
      'PostgreSQL for hourly aggregates and exactly-once (default: DATABASE_URL, or the PG* variables)',
    )
    .option('--no-postgres', 'write InfluxDB only: no aggregates, no exactly-once across files')
    .option(
      '--pg-wait <seconds>',
      'how long PostgreSQL calls keep retrying an unavailable database before the run stops ' +
        '(default: POWERVIEW_PG_WAIT_SECONDS, else the InfluxDB --store-wait)',
    )
    .option(
      '--metrics-file <file>',
      "write the run's Prometheus metrics (files by outcome, duplicate rows, layout drift, retries…) to FILE " +
        "at the end, for node_exporter's textfile collector",
    )
    .option(
      '--force',
      're-ingest the given files even when their bytes were ingested before: ' +
        'their coverage and aggregates are replaced, not added (needs PostgreSQL)',
    );
  addInfluxOptions(ingest).action(async (paths: string[], flags: IngestFlags) => {
    // each command's modules load when it runs: `powerview migrate` or `--help` never loads the pipeline
    setExit(await (await import('./ingest.js')).runIngest(paths, flags));
  });
  program
    .command('migrate')
    .description(
      'apply the pending PostgreSQL migrations (schemas, tables, roles, row-level security, BI views), ' +
        'each in a transaction',
    )
    .option('--database-url <url>', 'PostgreSQL to migrate (default: DATABASE_URL, else the PG* variables)')
    .option('--dry-run', 'list the pending migrations, apply nothing')
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (flags: MigrateFlags) => {
      setExit(await (await import('./migrate.js')).runMigrate(flags));
    });
  const serve = program
    .command('serve')
    .description(
      'continuous ingestion: SFTPGo hook events and a watch of the data root → the same pipeline as ingest; ' +
        '/metrics, /healthz, /readyz',
    )
    .option(
      '--root <dir>',
      'data root SFTPGo writes <company>/<campaign>/<device>/ files into (default: POWERVIEW_DATA_ROOT)',
    )
    .option(
      '--http-addr <host:port>',
      'HTTP address for the hook, /metrics, /healthz, /readyz (default: POWERVIEW_HTTP_ADDR, else 127.0.0.1:9464)',
    )
    .option(
      '--hook-secret <secret>',
      'shared secret of the hook: Bearer token or basic-auth password ' +
        '(default: POWERVIEW_HOOK_SECRET; prefer the variable)',
    )
    .option(
      '--hook-user-map <user=company,...>',
      'SFTPGo users allowed to write to a company folder other than their own name ' +
        '(default: POWERVIEW_HOOK_USER_MAP; otherwise an event whose company folder is not its username gets 403)',
    )
    .option(
      '--settle <seconds>',
      'a file no event announced is complete once unchanged this long (default: POWERVIEW_SETTLE_SECONDS, else 5)',
    )
    .option(
      '--stall <seconds>',
      'a file no event announced whose last byte is not a newline is taken anyway once unchanged this long ' +
        '(default: POWERVIEW_STALL_SECONDS, else 600, or --settle when longer)',
    )
    .option(
      '--rescan <seconds>',
      'full rescan of the data root this often (default: POWERVIEW_RESCAN_SECONDS, else 60)',
    )
    .option(
      '--drain-timeout <seconds>',
      'on SIGTERM, in-flight files get this long to finish (default: POWERVIEW_DRAIN_SECONDS, else 30)',
    )
    .option('--state-dir <dir>', 'where the event journal lives (default: POWERVIEW_STATE_DIR, else <root>/../state)')
    .option('--workers <n>', 'parser threads (default: POWERVIEW_WORKERS, else the number of cores)')
    .option(
      '--v002-timezone <zone>',
      'IANA zone of V002 local times (default: POWERVIEW_V002_TIMEZONE, else Europe/Paris)',
    )
    .option('--database-url <url>', 'PostgreSQL (default: DATABASE_URL, else the PG* variables)')
    .option(
      '--meta-db <name>',
      "database for file summaries, '' for none (default: POWERVIEW_META_DB, else powerview_meta)",
    )
    .option(
      '--grafana-dir <dir>',
      "Grafana tree regenerated when a tenant is provisioned, '' for none " +
        '(default: POWERVIEW_GRAFANA_DIR, else grafana)',
    )
    .option('--log-file <file>', 'structured logs to FILE (default: stderr)')
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (default: POWERVIEW_LOG_LEVEL, else info)',
    );
  addInfluxOptions(serve).action(async (flags: ServeFlags) => {
    setExit(await (await import('./serve.js')).runServe(flags));
  });
  const datasets = program.command('datasets').description('the datasets exposed to BI tools (core.datasets_catalog)');
  datasets
    .command('docs')
    .description('write one markdown page per dataset and an index (README.md) from core.datasets_catalog')
    .option('--out <dir>', 'folder to write to', 'docs/datasets')
    .option('--database-url <url>', 'PostgreSQL holding the catalog (default: DATABASE_URL, else the PG* variables)')
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .action(async (flags: DatasetsDocsFlags) => {
      setExit(await (await import('./datasets.js')).runDatasetsDocs(flags));
    });
  registerGrafanaCommands(program, setExit);
  registerProvisionCommand(program, setExit);
  registerReportCommand(program, setExit);
  return program;
}

/** The InfluxDB connection flags (ingest and serve). */
function addInfluxOptions(command: Command): Command {
  return command
    .option('--influx-url <url>', 'InfluxDB base URL (default: INFLUX_URL, else http://127.0.0.1:8086)')
    .option('--influx-api <v1|v2|v3>', 'write API (default: INFLUX_API, else v1)')
    .option('--influx-org <org>', 'v2 organisation (default: INFLUX_ORG)')
    .option('--influx-username <user>', 'v1 user (default: INFLUX_USERNAME)')
    .option(
      '--influx-password <password>',
      'v1 password (default: INFLUX_PASSWORD; a flag shows in the process list, prefer the variable)',
    )
    .option(
      '--influx-token <token>',
      'v2/v3 token (default: INFLUX_TOKEN; a flag shows in the process list, prefer the variable)',
    )
    .option('--batch-lines <n>', 'lines per write request (default: INFLUX_BATCH_LINES, else 5000)')
    .option('--batch-bytes <n>', 'bytes per write request before gzip (default: INFLUX_BATCH_BYTES, else 4000000)')
    .option('--gzip', 'gzip write requests (default: INFLUX_GZIP)')
    .option('--concurrency <n>', 'write requests in flight (default: INFLUX_CONCURRENCY, else 4)');
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // the reader of our output went away (`| head`): stop quietly, not with a stack trace
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(1);
      throw err;
    });
  }
  loadDotEnv();
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      const done = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
      if (done.includes(err.code)) return 0;
      return 2;
    }
    if ((err as NodeJS.ErrnoException | null)?.code === 'EPIPE') {
      // the reader of stdout went away (`| head`): stop quietly
      return 1;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`powerview: ${err.message}\n`);
      return 2;
    }
    if (err instanceof PowerViewError) {
      process.stderr.write(`powerview: ${err.code}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`powerview: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  }
}
