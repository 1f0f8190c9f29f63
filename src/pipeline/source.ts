import { ErrorCodes } from '../errors.js';
import { tenantNameProblem, type InfluxApi } from '../influx/config.js';
import type { FileTask } from './pipeline.js';
import type { FileError } from './report.js';

/** The files of a job: a list (backfill) or the scheduler's stream (serve), which never ends on its own. */
export type FileSource = FileTask[] | AsyncIterable<FileTask>;

/**
 * Why a file's tenant (company) or campaign cannot name a database or a role
 * under the store's rule (InfluxDB 3 takes no '.'); null when they can.
 */
export function refusalOf(task: FileTask, api: InfluxApi): FileError | null {
  const problem =
    tenantNameProblem('company', task.identity.tenant, api) ?? tenantNameProblem('campaign', task.identity.campaign);
  return problem ? { code: ErrorCodes.TENANT_NAME, message: problem } : null;
}

/**
 * The Source: the job's files with those refused up front taken out (each
 * refused file is handed to `refused` once, when the source reaches it). A
 * list stays a list (the job reports files it never reached); a stream stays
 * a stream, read one file at a time (the scheduler's queue is the bound).
 */
export function fileSource(
  tasks: FileSource,
  api: InfluxApi,
  refused: (task: FileTask, error: FileError) => void,
): FileSource {
  const admit = (task: FileTask): boolean => {
    const error = refusalOf(task, api);
    if (error) refused(task, error);
    return !error;
  };
  if (Array.isArray(tasks)) return tasks.filter(admit);
  return (async function* () {
    for await (const task of tasks) if (admit(task)) yield task;
  })();
}
