import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import type { CommitFence, CommitInput } from '../postgres/ingest-store.js';
import type { PoolClient } from 'pg';

/** 63-bit advisory-lock key of a device folder (relative to the data root, so every instance agrees). */
export function claimKey(deviceFolder: string): bigint {
  const h = createHash('sha256').update(`powerview-claim\u0000${deviceFolder}`).digest();
  return h.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
}

/**
 * Claims (DESIGN §5): a device folder is worked on by one process at a time,
 * across `serve` instances sharing a data root and database. A claim is a
 * PostgreSQL session-level advisory lock held by this process's own claims
 * connection: when the process dies, the connection and its locks go with it,
 * so the claims of a crashed process are recovered at once. Every commit is
 * fenced: inside its transaction it checks that the claims connection still
 * holds the lock of each file's device, so a process whose claims connection
 * was lost (and whose device another instance may now hold) never commits.
 */
export class Claims {
  private client: pg.Client | null = null;
  private backendPid = 0;
  private connecting: Promise<pg.Client> | null = null;
  private readonly held = new Map<string, bigint>();
  /** one query at a time on the claims session */
  private tail: Promise<unknown> = Promise.resolve();

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => {});
    return run;
  }

  constructor(
    private readonly config: pg.ClientConfig,
    /** device folder of a committed file (relative to the data root) */
    private readonly folderOf: (path: string) => string,
    private readonly log?: Logger,
  ) {}

  /** Device folders this process holds. */
  get folders(): string[] {
    return [...this.held.keys()];
  }

  isHeld(folder: string): boolean {
    return this.held.has(folder);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({ ...this.config, application_name: 'powerview serve claims' });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, new Error('connection ended')));
      try {
        await client.connect();
        const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
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
    if (this.held.size > 0) this.log?.warn({ event: 'claims_lost', devices: this.held.size, error: errorMessage(err) }, 'claims connection lost: its claims are gone');
    // the locks died with the session: nothing is held any more, commits under them are fenced off
    this.held.clear();
  }

  /** Takes the device's claim if no process holds it; false when another one does. Throws when PostgreSQL is unreachable. */
  tryClaim(folder: string): Promise<boolean> {
    return this.serial(async () => {
      if (this.held.has(folder)) return true;
      const client = await this.connection();
      const key = claimKey(folder);
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]);
      // the session may have died meanwhile: a lock it took is gone with it
      if (r.rows[0].ok && this.client === client) this.held.set(folder, key);
      return r.rows[0].ok && this.client === client;
    });
  }

  release(folder: string): Promise<void> {
    const key = this.held.get(folder);
    if (key === undefined) return Promise.resolve();
    this.held.delete(folder);
    return this.serial(async () => {
      const client = this.client;
      if (!client) return;
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]).catch((err: unknown) => {
        this.log?.warn({ event: 'claims', folder, error: errorMessage(err) }, 'claim release failed (it ends with the connection)');
      });
    });
  }

  /** Inside a commit: every file's device claim is still held by this process's claims session. */
  readonly fence: CommitFence = async (tx: PoolClient, inputs: readonly CommitInput[]): Promise<void> => {
    const keys = new Set<string>();
    for (const input of inputs) {
      const folder = this.folderOf(input.report.path);
      const key = this.held.get(folder);
      if (key === undefined) throw claimLost(folder);
      keys.add(key.toString());
    }
    const r = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = $1
          AND ((classid::bigint << 32) | objid::bigint) = ANY($2::bigint[])`,
      [this.backendPid, [...keys]],
    );
    if (r.rows[0].n !== keys.size) throw claimLost([...new Set(inputs.map((i) => this.folderOf(i.report.path)))].join(', '));
  };

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held.clear();
    await client?.end().catch(() => {});
  }
}

function claimLost(folder: string): StoreError {
  // left in place and taken again: whoever holds the device now commits it once
  return new StoreError(ErrorCodes.STORE_UNAVAILABLE, `claim on ${folder} lost (PostgreSQL session ended): the file is left for whoever holds it now`);
}
