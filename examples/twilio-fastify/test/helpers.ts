/**
 * Test helpers: a call placed by hand through a carrier's peer simulator (close code and reason
 * recorded), and a TCP gate in front of the realtime simulator that can refuse model connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { silence, type CallEvent } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { WebSocket } from 'ws';

/** Resolves once `condition` holds, checking every 20 ms; rejects after `timeoutMs` (generous: loaded machines). */
export async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How the server closed a call's socket. */
export type Closed = { code: number; reason: string };

/** One call as the carrier places it: frames written by the carrier's peer simulator. */
export class PeerCall {
  /** Resolves when the socket closed, with the close code (1006: no close frame) and reason. */
  readonly closed: Promise<Closed>;
  closedWith: Closed | undefined;
  readonly #socket: WebSocket;
  readonly #peer: PeerSimulator;
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(socket: WebSocket, peer: PeerSimulator) {
    this.#socket = socket;
    this.#peer = peer;
    this.closed = new Promise<Closed>((resolve) => {
      socket.once('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        this.#stop();
        resolve(this.closedWith);
      });
    });
    socket.on('error', () => {
      // Reported as the close (1006).
    });
  }

  /** Opens the media socket; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, peer: PeerSimulator, headers?: Record<string, string>): Promise<PeerCall> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, headers ? { headers } : undefined);
      socket.once('open', () => resolve(new PeerCall(socket, peer)));
      socket.once('unexpected-response', (_request, response) => {
        reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode }));
        socket.terminate();
      });
      socket.once('error', reject);
    });
  }

  /** The carrier sends what `event` is on its wire. */
  send(event: CallEvent): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    for (const frame of this.#peer.encodeInbound(event)) this.#socket.send(frame);
  }

  /** Starts the call and streams silence in 20 ms frames until it closes (a live, quiet caller). */
  start(event: Extract<CallEvent, { type: 'call_start' }>): void {
    this.send(event);
    const frame = silence(event.format, 20);
    this.#timer = setInterval(() => this.send({ type: 'audio', payload: frame }), 20);
  }

  /** The caller hangs up: the carrier's stop message, then a normal close. */
  hangUp(): void {
    this.#stop();
    this.send({ type: 'call_end' });
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000);
  }

  dispose(): void {
    this.#stop();
    this.#socket.terminate();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A loopback port nothing listens on (free a moment ago). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Status of a WebSocket upgrade attempt: 101 when it opened (then closed at once), else the HTTP status. */
export function upgradeStatus(url: string, headers?: Record<string, string>): Promise<number> {
  return PeerCall.open(url, { encodeInbound: () => [], decodeOutbound: () => [] }, headers).then(
    (call) => {
      call.dispose();
      return 101;
    },
    (error: { status?: number }) => {
      if (typeof error.status === 'number') return error.status;
      throw error;
    },
  );
}

/**
 * A TCP gate in front of the realtime simulator: passes connections through, or closes the next
 * ones at once (a model endpoint that accepts and drops the connection).
 */
export class ModelGate {
  refused = 0;
  passed = 0;
  #refuseNext = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(readonly targetPort: number) {
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /** Starts listening on 127.0.0.1 (on `port`, default any free one); resolves with the port. */
  async start(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.port;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Drops the next `count` connections as soon as they are accepted. */
  refuseNext(count = 1): void {
    this.#refuseNext += count;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(socket: Socket): void {
    this.#track(socket);
    if (this.#refuseNext > 0) {
      this.#refuseNext--;
      this.refused++;
      socket.destroy();
      return;
    }
    this.passed++;
    const upstream = tcpConnect(this.targetPort, '127.0.0.1');
    this.#track(upstream);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
  }
}

/** The example server as `pnpm start` runs it, in a child process; its stdout and stderr lines are kept. */
export class ServerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #child: ChildProcess;

  constructor(cwd: string, env: Record<string, string>) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd,
      env: { ...process.env, OPENAI_API_KEY: '', DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        this.lines.push(...parts);
      });
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** The port from the server's "listening" line. */
  async port(): Promise<number> {
    let port: number | undefined;
    await until(
      () => {
        if (this.exit) throw new Error(`the server exited before listening:\n${this.lines.join('\n')}`);
        const line = this.lines.find((l) => /listening on http:\/\/[^:]+:\d+/.test(l));
        port = line ? Number(/:(\d+)\s*$/.exec(line)?.[1]) : undefined;
        return port !== undefined;
      },
      'the server to listen',
      60_000,
    );
    return port!;
  }

  has(text: string): boolean {
    return this.lines.some((line) => line.includes(text));
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** Ends the process if a test left it running. */
  async dispose(): Promise<void> {
    if (this.exit) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
