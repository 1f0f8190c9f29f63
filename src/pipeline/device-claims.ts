/**
 * What the pipeline needs of serve's claims (src/service/claims.ts implements
 * it): one process at a time per device, across processes. Defined here so
 * that the pipeline does not import the service above it.
 */
export interface DeviceClaims {
  /** resolves once this process holds the device's claim (waits while another process holds it) */
  claimDevice(tenant: string, masterSn: string): Promise<void>;
  releaseDevice(tenant: string, masterSn: string): Promise<void>;
}

/**
 * The files of one run holding a device's claim: the claim is taken with the
 * device's first file and given back once its last file is committed or
 * given up, so no other process plans against coverage still to come.
 */
export class ClaimHolders<F> {
  /** device → files holding its claim */
  private readonly holders = new Map<string, Set<F>>();

  constructor(
    private readonly claims: DeviceClaims | undefined,
    /** the claim call goes through this (the job retries it while PostgreSQL is unreachable) */
    private readonly retry: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
  ) {}

  /** `file` holds the device's claim once this resolves; a claim that fails leaves it unheld. */
  async claim(file: F, tenant: string, masterSn: string, device: string): Promise<void> {
    const claims = this.claims;
    if (!claims) return;
    let holders = this.holders.get(device);
    if (!holders) {
      holders = new Set();
      this.holders.set(device, holders);
    }
    holders.add(file);
    try {
      await this.retry(() => claims.claimDevice(tenant, masterSn));
    } catch (err) {
      this.unclaim(file, tenant, masterSn, device);
      throw err;
    }
  }

  /** `file` no longer holds the claim: released once no file of the device does. */
  unclaim(file: F, tenant: string, masterSn: string, device: string): void {
    const holders = this.holders.get(device);
    if (!holders?.delete(file) || holders.size > 0) return;
    this.holders.delete(device);
    void this.claims?.releaseDevice(tenant, masterSn);
  }
}
