import type { Logger } from 'pino';
import { ErrorCodes, PowerViewError, errorMessage } from '../errors.js';
import { BACKOFF, backoffDelay, sleep } from '../util/retry.js';
import { classify } from './hook.js';
import type { JournalEvent } from './journal.js';
import type { Provisioner } from './options.js';

/**
 * Tenant provisioning asked for by SFTPGo's `mkdir <company>[/<campaign>]`:
 * one loop per folder, retried with the restart backoff until it succeeds or
 * the name is refused for good. The events stay here (and in the journal)
 * until then, so a restart provisions what was not done.
 */
export class ProvisionQueue {
  /** provisioning events not yet done: `<company>/<campaign>` → the event */
  private readonly events = new Map<string, JournalEvent>();
  private readonly looping = new Set<string>();
  private stopped = false;

  constructor(
    private readonly rootReal: string,
    private readonly provision: Provisioner,
    /** an event is done with (provisioned or refused): the journal may be compacted */
    private readonly onDone: () => void,
    private readonly log?: Logger,
  ) {}

  /** Events not yet done. */
  get size(): number {
    return this.events.size;
  }

  /** What the journal must keep. */
  pending(): JournalEvent[] {
    return [...this.events.values()];
  }

  /** Queues a provisioning event; false when its folder is queued already. */
  add(e: JournalEvent): boolean {
    const { parts } = classify(this.rootReal, e.path);
    const key = parts.join('/');
    if (this.events.has(key)) return false;
    this.events.set(key, e);
    void this.loop(key, parts[0], parts[1] ?? null);
    return true;
  }

  /** Draining: the loops end at their next attempt; what is left stays queued (journaled). */
  stop(): void {
    this.stopped = true;
  }

  private async loop(key: string, tenant: string, campaign: string | null): Promise<void> {
    if (this.looping.has(key)) return;
    this.looping.add(key);
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        const failed = await this.attempt(tenant, campaign);
        if (failed === null) {
          this.events.delete(key);
          this.onDone();
          return;
        }
        const delay = backoffDelay(BACKOFF.restart, attempt);
        this.log?.warn(
          { event: 'provision', tenant, campaign, error: failed, delay_ms: Math.round(delay) },
          'provisioning failed, retrying',
        );
        await sleep(delay, true);
      }
    } finally {
      this.looping.delete(key);
    }
  }

  /** One try: null when done with (provisioned, or a name that can never be), else why it failed (retried). */
  private async attempt(tenant: string, campaign: string | null): Promise<string | null> {
    try {
      await this.provision(tenant, campaign);
      this.log?.info({ event: 'provision', tenant, campaign }, 'tenant provisioned');
      return null;
    } catch (err) {
      if (err instanceof PowerViewError && err.code === ErrorCodes.TENANT_NAME) {
        // a folder name that cannot name a database or role: retrying cannot help
        this.log?.error(
          { event: 'provision', tenant, campaign, error: err.message },
          'tenant not provisioned: refused name',
        );
        return null;
      }
      return errorMessage(err);
    }
  }
}
