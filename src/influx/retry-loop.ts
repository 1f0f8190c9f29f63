import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, StoreError, errorMessage } from '../errors.js';
import { BACKOFF, backoffDelay } from '../util/retry.js';
import { retryAfterMs, serverMessage, tooLarge, transientCause, type RetryCause } from './replies.js';
import type { Reply } from './transport.js';

export interface WriterHooks {
  onRetry?(cause: RetryCause, db: string, delayMs: number, detail: string): void;
  onRequest?(seconds: number, lines: number, bytes: number, status: number): void;
  /** the store answered with something other than a refusal of the credentials (they work) */
  onCredentialsAccepted?(): void;
}

export interface RetryPolicy {
  /** a batch keeps retrying this long before its files fail as "store unavailable" */
  storeWaitMs: number;
  /** first backoff delay; doubles per attempt. Default 250 ms. */
  baseDelayMs?: number;
  /** backoff cap (Retry-After is honoured up to the store wait). Default 5 s. */
  maxDelayMs?: number;
  /**
   * 401 (and 403 to a write) are waited out like an outage, within the store
   * wait, instead of stopping the run (serve: a rotated password is fixed
   * without a restart). Default false: the run stops with STORE_AUTH.
   */
  waitOutCredentials?: boolean;
}

export interface RetryOptions {
  /** a 403 is a refusal of the credentials (default); false: an answer the caller reads (a user that may not create) */
  retry403?: boolean;
}

/** Why an attempt did not settle the request, and how long the server asked us to wait (ms), if it did. */
interface Failed {
  cause: RetryCause;
  detail: string;
  hinted: number | null;
}

/**
 * Tries a request again on network errors and transient statuses (429/503 honour Retry-After, 5xx and network
 * errors back off exponentially with jitter, `BACKOFF.influxWrite`) until the store wait runs out, then throws
 * StoreError(STORE_UNAVAILABLE). Stopped (the run is over), every request still waiting gives up at once.
 */
export class RetryLoop {
  private readonly policy: Required<RetryPolicy>;
  private readonly hooks: WriterHooks;
  private stopped: StoreError | null = null;
  /** wakes every request waiting for its next attempt when the run stops */
  private readonly stopping = new AbortController();

  constructor(policy: RetryPolicy, hooks: WriterHooks) {
    this.policy = {
      baseDelayMs: BACKOFF.influxWrite.baseMs,
      maxDelayMs: BACKOFF.influxWrite.maxMs,
      waitOutCredentials: false,
      ...policy,
    };
    this.hooks = hooks;
  }

  /** The run is over (a store failure stopped it): requests still retrying give up now. */
  stop(reason: StoreError): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.stopping.abort();
  }

  /** The first reply that is not transient; throws when the store wait ran out or the run stopped. */
  async run(db: string, call: () => Promise<Reply>, options: RetryOptions = {}): Promise<Reply> {
    const deadline = Date.now() + this.policy.storeWaitMs;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw this.stopped;
      let failed: Failed;
      try {
        const reply = await call();
        const transient = this.transient(reply, options.retry403 !== false);
        if (!transient) return reply;
        failed = transient;
      } catch (err) {
        if (err instanceof StoreError) throw err;
        const code = (err as { code?: string }).code ?? '';
        failed = {
          cause: /TIMEOUT/.test(code) ? 'timeout' : 'network',
          detail: `${code ? `${code}: ` : ''}${errorMessage(err)}`,
          hinted: null,
        };
      }
      await this.backOff(db, attempt, deadline, failed);
    }
  }

  /** Why this reply is worth trying again, or null: it is the answer. */
  private transient(reply: Reply, retry403: boolean): Failed | null {
    const refused = reply.status === 401 || (reply.status === 403 && retry403);
    if (!refused && reply.status < 500 && reply.status !== 408 && reply.status !== 429)
      this.hooks.onCredentialsAccepted?.();
    const cause = tooLarge(reply)
      ? null
      : refused && this.policy.waitOutCredentials
        ? 'credentials'
        : transientCause(reply.status);
    if (!cause) return null;
    return {
      cause,
      detail: `HTTP ${reply.status}: ${serverMessage(reply.body)}`,
      hinted: retryAfterMs(reply.retryAfter),
    };
  }

  /** Waits before the next attempt, or throws STORE_UNAVAILABLE when the store wait is over. */
  private async backOff(db: string, attempt: number, deadline: number, failed: Failed): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new StoreError(
        ErrorCodes.STORE_UNAVAILABLE,
        `InfluxDB unavailable for ${Math.round(this.policy.storeWaitMs / 1000)} s (${attempt + 1} attempts; last: ` +
          `${failed.detail})`,
      );
    }
    const { baseDelayMs, maxDelayMs } = this.policy;
    const jittered = backoffDelay({ baseMs: baseDelayMs, maxMs: maxDelayMs }, attempt);
    // Retry-After: 0 (or a past date) still waits the first backoff step: no request storm
    const delay = Math.min(left, failed.hinted !== null ? Math.max(failed.hinted, baseDelayMs) : jittered);
    this.hooks.onRetry?.(failed.cause, db, delay, failed.detail);
    await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {});
  }
}
