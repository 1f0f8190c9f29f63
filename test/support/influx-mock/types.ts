/**
 * Shapes shared by the InfluxDB stand-in's modules (test/support/influx-mock/*.ts):
 * what a test sees of a request, the options that pick a server's version
 * and edition, and the objects the stand-in keeps (points, buckets, v2
 * authorizations and DBRP mappings, v3 resource tokens).
 */
export type MockApi = 'v1' | 'v2' | 'v3' | 'other';

export interface RecordedRequest {
  /** 0-based arrival order */
  seq: number;
  method: string;
  /** path without the mock's base path and without the query string */
  path: string;
  /** the request target as received */
  url: string;
  api: MockApi;
  /** a line protocol write (`/write`, `/api/v2/write`, `/api/v3/write_lp`) */
  isWrite: boolean;
  query: Record<string, string>;
  /** lower-cased header names, as Node gives them */
  headers: Record<string, string | string[] | undefined>;
  /** body after gzip decoding */
  body: Buffer;
  text: string;
  /** bytes on the wire (before gunzip) */
  rawLength: number;
  gzipped: boolean;
  /** requests in flight (this one included) when it arrived; `writesInFlight` counts writes only */
  inFlight: number;
  writesInFlight: number;
  receivedAt: number;
  /** the answer, once sent */
  status?: number;
  answeredAt?: number;
}

export interface StoredPoint {
  db: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string>;
  /** nanoseconds since the epoch */
  time: bigint;
  line: string;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** which requests it applies to: a RegExp tested on the path, or a predicate; default every request */
  match?: RegExp | ((req: RecordedRequest) => boolean);
}

export interface InfluxMockOptions {
  /** v2 `Token`, v3 `Bearer`, v1 `Token` accepted with this value; no auth checks when absent */
  token?: string;
  /** v1 Basic authentication (or u/p query parameters) */
  username?: string;
  password?: string;
  /** v2 organisation that exists; default "acme" */
  org?: string;
  orgId?: string;
  /** databases / buckets that exist at start */
  databases?: string[];
  /**
   * write bodies (after gunzip) above this many bytes are refused: 413 (v1, v2); v3: 500 up to 3.9, 413 from 3.10
   * ([v3-size]). InfluxDB 3's own default is 10 MiB (`--max-http-request-size`); the stand-in's is no limit
   */
  maxBodyBytes?: number;
  /** every write reply waits this long */
  replyDelayMs?: number;
  /** prefix the product's URL carries (e.g. "/influx"): stripped before routing */
  basePath?: string;
  /**
   * v2 with unparsable lines: OSS 2.x rejects the whole request ([v2-trouble]); true stores the valid
   * lines (the partial-write behaviour of InfluxDB Cloud / 3.x v2-compatible endpoints).
   */
  v2PartialWrites?: boolean;
  /** v3 writes to a missing database create it (InfluxDB 3 Core does); false answers 404 */
  v3CreateOnWrite?: boolean;
  /** v2: points older than this (epoch seconds) are dropped with 422 "points beyond retention policy" */
  retentionCutoffS?: number;
  /** v2: every bucket has a virtual DBRP mapping (2.2+, the default); false: 2.0–2.1, only explicit ones */
  virtualDbrps?: boolean;
  /** v3: InfluxDB 3 Enterprise (resource tokens, its limits); default Core */
  v3Enterprise?: boolean;
  /**
   * v3: the release the stand-in answers as, "3.0" … "3.10" (default "3.10"): the request-size status, the
   * database-name rule, `original_line` cut to 20 bytes, Basic auth on /query ([v3-*] in v3.ts)
   */
  v3Version?: string;
  /**
   * v3 limits ([v3-limits]): databases (`_internal` not counted), tables across all databases, columns per table
   * (time included). Default: Core 5 / 2000 / 500, Enterprise 100 / 10000 / 500
   */
  v3Limits?: { databases?: number; tables?: number; columnsPerTable?: number };
  /**
   * the server the 1.x-compatible `/query` and `/write` belong to: 'v3' authenticates them as InfluxDB 3 does
   * ([v3-auth]: the token as Bearer, Token, `p`, and from 3.1 as the Basic password); default: 1.x users,
   * 2.x v1 authorizations and 3.x resource tokens alike
   */
  product?: 'v1' | 'v2' | 'v3';
}

/** An InfluxDB 3 Enterprise resource token ([v3-tokens]) */
export interface ResourceToken {
  id: number;
  name: string;
  token: string;
  databases: string[];
  actions: string[];
}

/** A v2 permission ([v2-legacy]) */
export interface MockPermission {
  action: 'read' | 'write';
  resource: { type: string; id?: string; orgID?: string };
}

/** A v1-compatible authorization of InfluxDB 2.x ([v2-legacy]); `password` null until one is set */
export interface LegacyAuth {
  id: string;
  token: string;
  status: 'active' | 'inactive';
  description: string;
  orgID: string;
  userID: string;
  permissions: MockPermission[];
  password: string | null;
}

export interface MockDbrp {
  id: string;
  orgID: string;
  bucketID: string;
  database: string;
  retention_policy: string;
  default: boolean;
  virtual?: boolean;
}

export interface Bucket {
  id: string;
  orgID: string;
  type: 'user';
  name: string;
  retentionRules: unknown[];
  createdAt: string;
  updatedAt: string;
}

/** How a route answers: status, a body (an object is sent as JSON, a string as text, null as nothing), extra headers. */
export type ReplyFn = (status: number, body: string | object | null, headers?: Record<string, string>) => void;

/** An authentication refusal: the reply to send instead of routing; null: go on. */
export type AuthRefusal = { status: number; body: string | object | null } | null;
