/**
 * A `powerview serve` child process for the tests: its start (once /healthz
 * answers), its JSON log lines, its HTTP endpoints (the SFTPGo hook, /metrics
 * parsed), and the small waits the serve tests share.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath, projectRoot } from './helpers.js';
import { postHook, parseProm, type HookReply, type PromSamples } from './serve-http.js';

export const HOOK_SECRET = 'serve-test-secret-0123456789';

// ---------------------------------------------------------------- small tools

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `check` until it returns a truthy value; the last value (falsy) after `timeoutMs`. */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() >= deadline) return v;
    await sleep(everyMs);
  }
}

export interface ServeOptions {
  root: string;
  stateDir: string;
  host?: string;
  /** default: a free port */
  port?: number;
  settle?: number;
  rescan?: number;
  drain?: number;
  workers?: number;
  /** more flags */
  args?: string[];
  /** more environment */
  extraEnv?: Record<string, string>;
}

export interface ServeProc {
  child: ChildProcess;
  url: string;
  port: number;
  /** everything written to stderr so far (pino JSON lines and the start banner) */
  stderr(): string;
  /** the JSON log lines so far */
  logs(): Array<Record<string, unknown>>;
  /** resolves when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** POST /hooks/sftpgo with the secret as Bearer token (or the given Authorization) */
  hook(event: Record<string, unknown>, authorization?: string): Promise<HookReply>;
  /** GET a path; status and text */
  get(path: string): Promise<{ status: number; text: string }>;
  /** /metrics parsed */
  metrics(): Promise<PromSamples>;
  /** SIGKILL (if still running) and wait for the exit */
  kill(): Promise<void>;
}

/** Runs `powerview serve` with the services' environment; resolves once /healthz answers 200. */
export async function startServe(t: Test, env: Record<string, string>, o: ServeOptions): Promise<ServeProc> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  const args = [
    'serve',
    '--root',
    o.root,
    '--http-addr',
    `${host}:${port}`,
    '--settle',
    String(o.settle ?? 1),
    '--rescan',
    String(o.rescan ?? 5),
    '--drain-timeout',
    String(o.drain ?? 30),
    '--state-dir',
    o.stateDir,
    '--workers',
    String(o.workers ?? 1),
    '--meta-db',
    '',
    '--grafana-dir',
    '',
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...env,
      POWERVIEW_HOOK_SECRET: HOOK_SECRET,
      POWERVIEW_LOG_LEVEL: 'info',
      ...(o.extraEnv ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const kill = async () => {
    if (!done) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  const url = `http://${host}:${port}`;
  const get = async (path: string) => {
    const res = await fetch(url + path);
    return { status: res.status, text: await res.text() };
  };
  const ok = await waitUntil(
    async () => {
      if (done) return true;
      try {
        return (await get('/healthz')).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
    100,
  );
  if (done || !ok) {
    await kill();
    throw new Error(`powerview serve did not start on ${url}:\n${stderr.slice(-2000)}`);
  }
  return {
    child,
    url,
    port,
    stderr: () => stderr,
    logs: () => parseLogs(stderr),
    exited,
    hook: (event, authorization = `Bearer ${HOOK_SECRET}`) => postHook(url, event, authorization),
    get,
    metrics: async () => parseProm((await get('/metrics')).text),
    kill,
  };
}

/** SIGTERM, then the exit code is asserted to be 0. */
export async function stopServe(t: Test, serve: ServeProc, what = 'SIGTERM: exit 0'): Promise<void> {
  serve.child.kill('SIGTERM');
  t.equal((await serve.exited).code, 0, what);
}

export function parseLogs(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}
