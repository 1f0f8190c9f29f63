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

/** Advisory-lock key of a device (tenant, master serial): the unit whose coverage a plan reads. */
export function deviceClaimKey(tenant: string, masterSn: string): bigint {
  const h = createHash('sha256').update(`powerview-device-claim\u0000${tenant}\u0000${masterSn}`).digest();
  return h.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
}

/** What exactly-once planning needs of claims: a device's claim, waited for, and given back. */
import type { DeviceClaims } from '../pipeline/device-claims.js';
export type { DeviceClaims };

/**
 * Claims (docs/architecture.md#pipeline-and-serve): a device folder is worked on by one process at a time,
 * across `serve` instances sharing a data root and database. A claim is a
 * PostgreSQL session-level advisory lock held by this process's own claims
 * connection: when the process dies, the connection and its locks go with it,
 * so the claims of a crashed process are recovered at once. Every commit is
 * fenced: inside its transaction it checks that the claims connection still
 * holds the lock of each file's device, so a process whose claims connection
 * was lost (and whose device another instance may now hold) never commits.
 */
export class Claims implements DeviceClaims {
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
    /** device folder of a committed file (relative to the data root); null: folders are not claimed (ingest) */
    private readonly folderOf: ((path: string) => string) | null,
    private readonly log?: Logger,
    private readonly options: {
      applicationName?: string;
      /** told once when a device's claim has been waited for this long (default 3 s) */
      waitNoticeMs?: number;
      onWait?: (tenant: string, masterSn: string, seconds: number) => void;
      /**
       * A released claim is unlocked this much later (default 0: at once): a
       * device whose next file comes within it keeps its claim without two
       * round trips on the claims session (serve: a file per device every few
       * seconds). Holding a claim longer never weakens it; others wait as long.
       */
      releaseLingerMs?: number;
    } = {},
  ) {}

  /** releases not yet carried out (releaseLingerMs): kind NUL name → its timer */
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  /** close() was called: waits for a device claim end, no session is opened again */
  private closed = false;

  /** A release of `name` still lingering is called off: the claim goes on being used. */
  private keepHeld(kind: ClaimKind, name: string): void {
    const timer = this.lingering.get(`${kind}\u0000${name}`);
    if (!timer) return;
    clearTimeout(timer);
    this.lingering.delete(`${kind}\u0000${name}`);
  }

  /** devices (tenant NUL master serial) this process holds, with their lock keys */
  private readonly devices = new Map<string, bigint>();

  /**
   * A device's claim (docs/architecture.md#pipeline-and-serve): whoever plans a file of the device holds it
   * from the plan to the commit, whatever folder the file is in. Waits while
   * another process holds it (polling: one claims session serves every
   * device, a blocking lock would stall the others); throws only when
   * PostgreSQL is unreachable.
   */
  async claimDevice(tenant: string, masterSn: string): Promise<void> {
    const name = `${tenant}\u0000${masterSn}`;
    const key = deviceClaimKey(tenant, masterSn);
    const t0 = Date.now();
    let told = false;
    this.keepHeld('device', name);
    for (let attempt = 0; ; attempt++) {
      const ok = await this.serial(async () => {
        if (this.devices.has(name)) return true;
        const client = await this.connection();
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
          key.toString(),
        ]);
        if (r.rows[0].ok && this.client === client) this.devices.set(name, key);
        return r.rows[0].ok && this.client === client;
      });
      if (ok) {
        if (told)
          this.log?.info(
            { event: 'claim', tenant, device: masterSn, waited_s: Math.round((Date.now() - t0) / 1000) },
            'device claim taken',
          );
        return;
      }
      const waited = Date.now() - t0;
      if (!told && waited >= (this.options.waitNoticeMs ?? 3000)) {
        told = true;
        this.log?.info(
          { event: 'claim', tenant, device: masterSn },
          'waiting for the device claim: another process is ingesting this logger',
        );
        this.options.onWait?.(tenant, masterSn, Math.round(waited / 1000));
      }
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000) * (0.5 + Math.random())));
    }
  }

  releaseDevice(tenant: string, masterSn: string): Promise<void> {
    return this.unlock(
      'device',
      `${tenant}\u0000${masterSn}`,
      { tenant, device: masterSn },
      'device claim release failed (it ends with the connection)',
    );
  }

  /** Device folders this process holds. */
  get folders(): string[] {
    return [...this.held.keys()];
  }

  isHeld(folder: string): boolean {
    return this.held.has(folder);
  }

  /** Is the folder's claim held? If so it is kept: a release of it still lingering is called off. */
  keep(folder: string): boolean {
    if (!this.held.has(folder)) return false;
    this.keepHeld('folder', folder);
    return true;
  }

  private async connection(): Promise<pg.Client> {
    // a closed Claims never opens a session again: a claim still waited for would hold the process open
    if (this.closed) throw new Error('claims closed');
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({
        ...this.config,
        application_name: this.options.applicationName ?? 'powerview serve claims',
      });
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
    if (this.held.size + this.devices.size > 0)
      this.log?.warn(
        { event: 'claims_lost', devices: this.held.size, error: errorMessage(err) },
        'claims connection lost: its claims are gone',
      );
    // the locks died with the session: nothing is held any more, commits under them are fenced off
    this.held.clear();
    this.devices.clear();
    this.cancelLingering();
  }

  private cancelLingering(): void {
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
  }

  /**
   * Takes the device's claim if no process holds it; false when another one does. Throws if PostgreSQL is unreachable.
   */
  tryClaim(folder: string): Promise<boolean> {
    this.keepHeld('folder', folder);
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
    return this.unlock('folder', folder, { folder }, 'claim release failed (it ends with the connection)');
  }

  /**
   * Lets go of the advisory lock held under `name` (a lost connection let go
   * of it already), at once or once releaseLingerMs passed without the claim
   * being taken again.
   */
  private unlock(kind: ClaimKind, name: string, fields: Record<string, string>, failed: string): Promise<void> {
    const held = kind === 'folder' ? this.held : this.devices;
    const linger = this.options.releaseLingerMs ?? 0;
    if (linger <= 0 || !held.has(name)) return this.unlockNow(held, name, fields, failed);
    const id = `${kind}\u0000${name}`;
    if (this.lingering.has(id)) return Promise.resolve();
    const timer = setTimeout(() => {
      this.lingering.delete(id);
      void this.unlockNow(held, name, fields, failed);
    }, linger);
    timer.unref();
    this.lingering.set(id, timer);
    return Promise.resolve();
  }

  private unlockNow(
    held: Map<string, bigint>,
    name: string,
    fields: Record<string, string>,
    failed: string,
  ): Promise<void> {
    const key = held.get(name);
    if (key === undefined) return Promise.resolve();
    held.delete(name);
    return this.serial(async () => {
      const client = this.client;
      if (!client) return;
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]).catch((err: unknown) => {
        this.log?.warn({ event: 'claims', ...fields, error: errorMessage(err) }, failed);
      });
    });
  }

  /** Inside a commit: every file's folder claim (serve) and device claim are still held by this process's session. */
  readonly fence: CommitFence = async (tx: PoolClient, inputs: readonly CommitInput[]): Promise<void> => {
    const keys = new Set<string>();
    for (const input of inputs) {
      if (this.folderOf) {
        const folder = this.folderOf(input.report.path);
        const key = this.held.get(folder);
        if (key === undefined) throw claimLost(folder);
        keys.add(key.toString());
      }
      const device = this.devices.get(`${input.report.tenant}\u0000${input.agg.header.masterSn}`);
      if (device === undefined) throw claimLost(`device ${input.agg.header.masterSn}`);
      keys.add(device.toString());
    }
    const r = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = $1
          AND ((classid::bigint << 32) | objid::bigint) = ANY($2::bigint[])`,
      [this.backendPid, [...keys]],
    );
    if (r.rows[0].n !== keys.size)
      throw claimLost(
        [
          ...new Set(
            inputs.map((i) => (this.folderOf ? this.folderOf(i.report.path) : `device ${i.agg.header.masterSn}`)),
          ),
        ].join(', '),
      );
  };

  async close(): Promise<void> {
    this.closed = true;
    // releases already asked for go first (no "release failed" for a connection being closed)
    await this.tail.catch(() => {});
    const client = this.client;
    this.client = null;
    this.held.clear();
    this.devices.clear();
    // lingering releases need no query: the locks end with the session
    this.cancelLingering();
    await client?.end().catch(() => {});
  }
}

type ClaimKind = 'folder' | 'device';

function claimLost(folder: string): StoreError {
  // left in place and taken again: whoever holds the device now commits it once
  return new StoreError(
    ErrorCodes.STORE_UNAVAILABLE,
    `claim on ${folder} lost (PostgreSQL session ended): the file is left for whoever holds it now`,
  );
}
