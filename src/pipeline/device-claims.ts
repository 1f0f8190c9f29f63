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
