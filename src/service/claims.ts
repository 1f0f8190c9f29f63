import type pg from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { CommitFence, CommitInput } from '../postgres/ingest-store.js';
import type { PoolClient } from 'pg';
import type { DeviceClaims } from '../pipeline/device-claims.js';
import { ClaimSession, claimKey, claimLost, deviceClaimKey } from './claim-session.js';

/** What exactly-once planning needs of claims: a device's claim, waited for, and given back. */
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
  /** device folders this process holds, with their lock keys */
  private readonly held = new Map<string, bigint>();
  private readonly session: ClaimSession;

  constructor(
    config: pg.ClientConfig,
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
  ) {
    this.session = new ClaimSession(config, options.applicationName ?? 'powerview serve claims', (err) =>
      this.lost(err),
    );
  }

  /** releases not yet carried out (releaseLingerMs): kind NUL name → its timer */
  private readonly lingering = new Map<string, NodeJS.Timeout>();

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
      const ok = await this.lockInto(this.devices, name, key);
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

  /** Takes the lock `key` for `name` unless held already: true when `name` is held now. */
  private lockInto(held: Map<string, bigint>, name: string, key: bigint): Promise<boolean> {
    return this.session.serial(async () => {
      if (held.has(name)) return true;
      const ok = await this.session.tryLock(key);
      if (ok) held.set(name, key);
      return ok;
    });
  }

  private lost(err: Error): void {
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
    return this.lockInto(this.held, folder, claimKey(folder));
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
    return this.session.serial(async () => {
      const client = this.session.current;
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
      [this.session.backendPid, [...keys]],
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
    // releases already asked for go first (no "release failed" for a connection being closed)
    const client = await this.session.detach();
    this.held.clear();
    this.devices.clear();
    // lingering releases need no query: the locks end with the session
    this.cancelLingering();
    await client?.end().catch(() => {});
  }
}

type ClaimKind = 'folder' | 'device';
