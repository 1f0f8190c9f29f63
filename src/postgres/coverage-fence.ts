import type { ClientBase } from 'pg';
import { deviceKey, StaleCoverageError, tenantOf, type CommitInput } from './commit-types.js';

/** own commit versions remembered per device, and devices remembered (least recently committed forgotten first) */
const OWN_VERSIONS_KEPT = 256;
const OWN_DEVICES_KEPT = 4096;

/**
 * device → coverage versions made by this store's own commits: a plan is not
 * stale for the commits of its own run. Bounded (serve runs for months): a
 * plan older than the versions forgotten is refused and planned again, never
 * wrong.
 */
export class OwnVersions {
  private readonly byDevice = new Map<string, Set<number>>();

  has(key: string, version: number): boolean {
    return this.byDevice.get(key)?.has(version) ?? false;
  }

  remember(key: string, version: number): void {
    let own = this.byDevice.get(key);
    if (own) this.byDevice.delete(key);
    else own = new Set<number>();
    this.byDevice.set(key, own);
    own.add(version);
    if (own.size > OWN_VERSIONS_KEPT) own.delete(own.values().next().value!);
    if (this.byDevice.size > OWN_DEVICES_KEPT) this.byDevice.delete(this.byDevice.keys().next().value!);
  }
}

interface DevicePlans {
  tenant: string;
  device: string;
  /** the versions the plans of this commit's files read */
  plans: number[];
}

function plansByDevice(inputs: readonly CommitInput[]): Map<string, DevicePlans> {
  const byDevice = new Map<string, DevicePlans>();
  for (const input of inputs) {
    const tenant = tenantOf(input);
    const device = input.agg.header.masterSn;
    const key = deviceKey(tenant, device);
    const d = byDevice.get(key) ?? { tenant, device, plans: [] };
    if (input.planVersion !== undefined && input.planVersion !== null) d.plans.push(input.planVersion);
    byDevice.set(key, d);
  }
  return byDevice;
}

/**
 * The fence, first thing in a commit's transaction: each device's version
 * row is locked (devices in one order: no deadlock between groups) and
 * bumped; a file whose plan read an older version than the one before this
 * bump is refused unless every version in between was made by this store.
 * Returns the versions made, to remember once the commit is durable.
 */
export async function fenceCoverage(
  client: ClientBase,
  inputs: readonly CommitInput[],
  own: OwnVersions,
): Promise<Array<[string, number]>> {
  const byDevice = plansByDevice(inputs);
  const made: Array<[string, number]> = [];
  for (const key of [...byDevice.keys()].sort()) {
    const d = byDevice.get(key)!;
    const r = await client.query<{ version: string }>(
      `INSERT INTO core.device_coverage_versions AS v (tenant, device_master_sn, version) VALUES ($1, $2, 1)
       ON CONFLICT (tenant, device_master_sn) DO UPDATE SET version = v.version + 1
       RETURNING version`,
      [d.tenant, d.device],
    );
    const next = Number(r.rows[0].version);
    for (const planned of d.plans) {
      for (let v = planned + 1; v < next; v++)
        if (!own.has(key, v)) throw new StaleCoverageError(d.tenant, d.device, planned, next - 1);
    }
    made.push([key, next]);
  }
  return made;
}
