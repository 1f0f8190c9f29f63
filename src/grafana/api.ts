import { ErrorCodes, StoreError, UsageError } from '../errors.js';

/**
 * Grafana's HTTP API as `grafana apply` and `grafana user add` call it: the
 * address and credentials (GRAFANA_URL; GRAFANA_TOKEN, or GRAFANA_USER and
 * GRAFANA_PASSWORD) and one JSON call at a time, refused replies as
 * StoreErrors that carry the status and body.
 */
export interface GrafanaApiConfig {
  /** GRAFANA_URL, e.g. http://127.0.0.1:3000 */
  url: string;
  /** GRAFANA_TOKEN: a service account token (Bearer), or */
  token?: string;
  /** GRAFANA_USER / GRAFANA_PASSWORD: basic authentication of an org admin */
  user?: string;
  password?: string;
}

export function resolveGrafanaApi(
  flags: { grafanaUrl?: string },
  env: NodeJS.ProcessEnv = process.env,
): GrafanaApiConfig {
  const url = flags.grafanaUrl ?? env.GRAFANA_URL;
  if (!url)
    throw new UsageError(
      'no Grafana: set GRAFANA_URL (e.g. http://127.0.0.1:3000) or pass --grafana-url',
      ErrorCodes.CONFIG,
    );
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
  } catch {
    throw new UsageError(
      `GRAFANA_URL must be an http(s) URL, got "${url.replace(/\/\/[^/@]*@/, '//***@')}"`,
      ErrorCodes.CONFIG,
    );
  }
  const token = env.GRAFANA_TOKEN || undefined;
  const user = env.GRAFANA_USER || undefined;
  const password = env.GRAFANA_PASSWORD || undefined;
  if (!token && !(user && password)) {
    throw new UsageError(
      'Grafana credentials: set GRAFANA_TOKEN (service account token, Admin role) or GRAFANA_USER and GRAFANA_PASSWORD',
      ErrorCodes.CONFIG,
    );
  }
  return { url: url.replace(/\/+$/, ''), token, user, password };
}

export interface PermissionItem {
  teamId?: number;
  userId?: number;
  role?: string;
  permission: number;
}

export const VIEW = 1;

/** Grafana's HTTP API, one JSON call at a time; `serverAdmin`: basic authentication even when a token is set. */
export class GrafanaApi {
  changes = 0;
  constructor(
    private readonly config: GrafanaApiConfig,
    private readonly serverAdmin = false,
  ) {}

  // the caller names the JSON shape it expects of the endpoint
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  async call<T>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    ok: number[] = [200],
  ): Promise<{ status: number; json: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.config.token && !this.serverAdmin) headers.authorization = `Bearer ${this.config.token}`;
    else
      headers.authorization = `Basic ${Buffer.from(`${this.config.user}:${this.config.password}`).toString('base64')}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') this.changes++;
    let res: Response;
    try {
      res = await fetch(`${this.config.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new StoreError(ErrorCodes.GRAFANA_API, `Grafana ${method} ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    if (!ok.includes(res.status)) {
      throw new StoreError(
        ErrorCodes.GRAFANA_API,
        `Grafana ${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`,
        { status: res.status, body: text },
      );
    }
    let json: T;
    try {
      json = (text ? JSON.parse(text) : null) as T;
    } catch {
      throw new StoreError(ErrorCodes.GRAFANA_API, `Grafana ${method} ${path}: not JSON: ${text.slice(0, 200)}`, {
        status: res.status,
        body: text,
      });
    }
    return { status: res.status, json };
  }

  async findTeam(name: string): Promise<number | null> {
    const r = await this.call<{ teams?: Array<{ id: number; name: string }> }>(
      'GET',
      `/api/teams/search?${new URLSearchParams({ name })}`,
      undefined,
      [200, 404],
    );
    return r.status === 404 ? null : (r.json.teams?.find((t) => t.name === name)?.id ?? null);
  }

  async ensureTeam(name: string): Promise<{ id: number; created: boolean }> {
    const found = await this.findTeam(name);
    if (found !== null) return { id: found, created: false };
    const r = await this.call<{ teamId: number }>('POST', '/api/teams', { name }, [200, 409]);
    if (r.status === 200) return { id: r.json.teamId, created: true };
    const again = await this.findTeam(name); // created meanwhile
    if (again === null)
      throw new StoreError(ErrorCodes.GRAFANA_API, `Grafana: team "${name}" is taken but cannot be found`);
    return { id: again, created: false };
  }

  async ensureFolder(uid: string, title: string): Promise<boolean> {
    const got = await this.call('GET', `/api/folders/${encodeURIComponent(uid)}`, undefined, [200, 404]);
    if (got.status === 200) return false;
    const made = await this.call('POST', '/api/folders', { uid, title }, [200, 409]);
    return made.status === 200;
  }

  /**
   * Sets the folder's permissions to exactly `items` unless they already are (Admin entries cannot be set and are
   * ignored).
   */
  async ensurePermissions(uid: string, items: PermissionItem[]): Promise<'set' | 'unchanged'> {
    const path = `/api/folders/${encodeURIComponent(uid)}/permissions`;
    const current = (await this.call<PermissionItem[] | null>('GET', path)).json ?? [];
    const key = (p: PermissionItem): string => `${p.teamId || 0}/${p.userId || 0}/${p.role ?? ''}/${p.permission}`;
    const have = current
      .filter((p) => p.role !== 'Admin')
      .map(key)
      .sort();
    const want = items.map(key).sort();
    if (have.length === want.length && have.every((k, i) => k === want[i])) return 'unchanged';
    await this.call('POST', path, { items });
    return 'set';
  }
}
