/**
 * A real redis-server for the tests: started on 127.0.0.1 on a free port, with no persistence, in
 * a temp directory of its own, and stopped (then its directory removed) after the file's tests,
 * whatever they did. CI installs redis-server (`.ci/run`) and must run these tests; elsewhere they
 * are skipped when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

/** True when a redis-server binary runs here. */
export function haveRedisServer(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.status === 0;
}

export const REDIS = haveRedisServer();
if (process.env.CI === 'true' && !REDIS) {
  throw new Error('CI: the Redis store tests need redis-server (Debian package redis-server, installed by .ci/run)');
}

/** A port nothing listens on now (the server then binds it; a lost race is retried). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const READY_TIMEOUT_MS = 30_000;

export class RedisServer {
  #child: ChildProcess | undefined;
  #dir: string | undefined;
  #port = 0;

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server, on `port` when given (a restart), else on a free one. */
  async start(port?: number): Promise<void> {
    if (this.#child) throw new Error('redis-server is already running');
    this.#dir ??= mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const chosen = port ?? (await freePort());
      try {
        await this.#spawn(chosen);
        this.#port = chosen;
        return;
      } catch (error) {
        lastError = error;
        if (port !== undefined && attempt >= 2) break;
      }
    }
    throw lastError;
  }

  #spawn(port: number): Promise<void> {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.#dir!,
      '--daemonize',
      'no',
      '--loglevel',
      'notice',
    ];
    const child = spawn('redis-server', args, { cwd: this.#dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    // Should the worker end without its afterAll (a crash), the server ends with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    let output = '';
    return new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        if (this.#child === child) this.#child = undefined;
        child.kill('SIGKILL');
        reject(new Error(`redis-server on port ${port}: ${why}\n${output.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      const read = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.stdout?.off('data', read);
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        fail(`exited (${code ?? signal})`);
      });
    });
  }

  /** Stops the server (SIGKILL when `abruptly`, as a crash), and waits for it to exit. */
  async stop(abruptly = false): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(abruptly ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop(true);
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

export type TestClient = ReturnType<typeof createClient>;

/** A connected node-redis client of `server`; its connection errors are collected, not thrown. */
export async function connectClient(server: RedisServer, errors: unknown[] = []): Promise<TestClient> {
  const client = createClient({
    url: server.url,
    socket: { reconnectStrategy: (retries) => Math.min(50 * retries, 500) },
  });
  client.on('error', (error: unknown) => errors.push(error));
  await client.connect();
  return client;
}

/**
 * A redis-server for the file (started before its tests, removed after them) and the clients its
 * tests connect, each destroyed after them.
 */
export function useRedisServer(hooks: {
  beforeAll(fn: () => Promise<void>, timeout?: number): void;
  afterAll(fn: () => Promise<void>, timeout?: number): void;
}): { server: RedisServer; client: () => Promise<TestClient> } {
  const server = new RedisServer();
  const clients: TestClient[] = [];
  hooks.beforeAll(async () => {
    if (REDIS) await server.start();
  }, 60_000);
  hooks.afterAll(async () => {
    for (const client of clients.splice(0)) {
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    }
    await server.dispose();
  }, 30_000);
  return {
    server,
    client: async () => {
      const client = await connectClient(server);
      clients.push(client);
      return client;
    },
  };
}

/** Polls `predicate` until it holds, or fails after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
