import { createHash } from 'node:crypto';
import pg from 'pg';
import { ErrorCodes, StoreError } from '../errors.js';

/** 63-bit advisory-lock key of a name: every instance computes the same. */
function lockKey(text: string): bigint {
  return createHash('sha256').update(text).digest().readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
}

/** 63-bit advisory-lock key of a device folder (relative to the data root, so every instance agrees). */
export function claimKey(deviceFolder: string): bigint {
  return lockKey(`powerview-claim\u0000${deviceFolder}`);
}

/** Advisory-lock key of a device (tenant, master serial): the unit whose coverage a plan reads. */
export function deviceClaimKey(tenant: string, masterSn: string): bigint {
  return lockKey(`powerview-device-claim\u0000${tenant}\u0000${masterSn}`);
}

export function claimLost(folder: string): StoreError {
  // left in place and taken again: whoever holds the device now commits it once
  return new StoreError(
    ErrorCodes.STORE_UNAVAILABLE,
    `claim on ${folder} lost (PostgreSQL session ended): the file is left for whoever holds it now`,
  );
}

/**
 * The claims session (claims.ts): one dedicated PostgreSQL connection whose
 * session-level advisory locks are the claims, one query at a time. When it
 * is lost, its locks are gone with it: `onLost` is told, a new session is
 * opened on the next query.
 */
export class ClaimSession {
  private client: pg.Client | null = null;
  /** the backend of the current session (the fence looks its locks up), 0 without one */
  backendPid = 0;
  private connecting: Promise<pg.Client> | null = null;
  /** one query at a time on the claims session */
  private tail: Promise<unknown> = Promise.resolve();
  /** closed: no session is opened again */
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly applicationName: string,
    private readonly onLost: (err: Error) => void,
  ) {}

  /** Runs `op` after every query asked for before it. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => {});
    return run;
  }

  /** The current session, if any (no connection is opened). */
  get current(): pg.Client | null {
    return this.client;
  }

  /**
   * pg_try_advisory_lock on the session (opened if needed): true only when taken and the session still the same
   * (a lock taken by a session that died meanwhile is gone with it). Call inside serial().
   */
  async tryLock(key: bigint): Promise<boolean> {
    const client = await this.connection();
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]);
    return r.rows[0].ok && this.client === client;
  }

  private async connection(): Promise<pg.Client> {
    // a closed session is never opened again: a claim still waited for would hold the process open
    if (this.closed) throw new Error('claims closed');
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({ ...this.config, application_name: this.applicationName });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, new Error('connection ended')));
      try {
        await client.connect();
        const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        if (this.closed) throw new Error('claims closed');
        this.backendPid = r.rows[0].pid;
        this.client = client;
        return client;
      } catch (err) {
        client.end().catch(() => {});
        throw err;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.backendPid = 0;
    this.onLost(err);
  }

  /** No session is opened again; once the queries asked for are done, the session is handed back to be ended. */
  async detach(): Promise<pg.Client | null> {
    this.closed = true;
    await this.tail.catch(() => {});
    const client = this.client;
    this.client = null;
    return client;
  }
}
