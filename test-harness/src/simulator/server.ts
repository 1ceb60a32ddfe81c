/**
 * The realtime simulator: a local WebSocket server that stands in for the OpenAI Realtime API.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { WebSocketServer, type WebSocket } from 'ws';
import { defaultScript, type SimulatorTurn } from './script.js';
import {
  SimulatedSession,
  type SimulatedConnectionInfo,
  type SimulatedSessionSettings,
  type SimulatorInputTurn,
} from './session.js';
import { DEFAULT_VAD_OPTIONS, type VadOptions } from './vad.js';

const log = createDebug('switchboard:conformance:simulator');

export const REALTIME_PATH = '/v1/realtime';
const INSECURE_KEY_PROTOCOL = 'openai-insecure-api-key.';

export interface RealtimeSimulatorOptions {
  /** Replies in order, one per response; cycles when exhausted. Default: defaultScript(). */
  script?: SimulatorTurn[];
  /** Multiplies all pacing: 10 runs ten times faster than real time. Default 1. */
  speed?: number;
  /** How much faster than real time reply audio is streamed. Default 2. */
  generationSpeed?: number;
  /**
   * Milliseconds of audio per response.output_audio.delta. Default 100. A list sends deltas of
   * uneven sizes, its entries in turn and cycled (each rounded to whole samples, at least one):
   * the real API's deltas vary in size.
   */
  deltaMs?: number | readonly number[];
  /** Delay between speech_stopped and response.created (divided by speed). Default 300. */
  responseLatencyMs?: number;
  /** Delay before a WebSocket upgrade is accepted (divided by speed). Default 0. */
  acceptDelayMs?: number;
  /** Energy VAD settings (stream time). */
  vad?: VadOptions;
  /**
   * What input audio transcription reports for each committed user turn, when the session turns
   * transcription on (`audio.input.transcription`): a fixed text, or one per turn. Default: a
   * placeholder naming the turn and its length (the simulator does not recognise speech).
   */
  inputTranscript?: string | ((turn: SimulatorInputTurn) => string);
  /**
   * Require `Authorization: Bearer <key>` or an `openai-insecure-api-key.<key>` subprotocol;
   * other upgrades get 401. Default true.
   */
  requireAuth?: boolean;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`RealtimeSimulator: ${name} must be a positive number`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`RealtimeSimulator: ${name} must be a non-negative number`);
  return value;
}

function deltaPattern(list: readonly number[]): number[] {
  if (!Array.isArray(list) || list.length === 0)
    throw new RangeError('RealtimeSimulator: deltaMs must be a positive number or a non-empty list of them');
  return list.map((ms, i) => positive(`deltaMs[${i}]`, ms, 0));
}

function transcriptFunction(option: RealtimeSimulatorOptions['inputTranscript']): (turn: SimulatorInputTurn) => string {
  if (typeof option === 'function') return (turn) => String(option(turn));
  if (typeof option === 'string') return () => option;
  if (option !== undefined) throw new TypeError('RealtimeSimulator: inputTranscript must be a string or a function');
  return (turn) => `[caller turn ${turn.index + 1}, ${(turn.audioMs / 1000).toFixed(1)} s of audio]`;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// The typed `session` event of the EventEmitter the class extends, declared once for both.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface RealtimeSimulator {
  on(event: 'session', listener: (session: SimulatedSession) => void): this;
  once(event: 'session', listener: (session: SimulatedSession) => void): this;
  off(event: 'session', listener: (session: SimulatedSession) => void): this;
  emit(event: 'session', session: SimulatedSession): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RealtimeSimulator extends EventEmitter {
  /** Every session since start, in connection order (closed ones included). */
  readonly sessions: SimulatedSession[] = [];
  readonly #settings: SimulatedSessionSettings;
  readonly #acceptDelayMs: number;
  readonly #requireAuth: boolean;
  #http: Server | null = null;
  #wss: WebSocketServer | null = null;
  #url: string | null = null;
  #port = 0;
  readonly #pendingUpgrades = new Map<Duplex, NodeJS.Timeout>();

  constructor(options: RealtimeSimulatorOptions = {}) {
    super();
    const script = options.script ?? defaultScript();
    if (script.length === 0) throw new RangeError('RealtimeSimulator: the script needs at least one turn');
    for (const [index, turn] of script.entries()) {
      if (turn.kind === 'audio' && !(turn.audio instanceof Int16Array)) {
        throw new TypeError(`RealtimeSimulator: script turn ${index} needs audio as an Int16Array (PCM16 24 kHz)`);
      }
    }
    const vad = { ...DEFAULT_VAD_OPTIONS };
    for (const [key, value] of Object.entries(options.vad ?? {}) as Array<[keyof VadOptions, number | undefined]>) {
      if (value === undefined) continue;
      if (!Number.isFinite(value) || (key !== 'thresholdDbfs' && value < 0)) {
        throw new RangeError(
          `RealtimeSimulator: vad.${key} must be a ${key === 'thresholdDbfs' ? '' : 'non-negative '}number`,
        );
      }
      vad[key] = value;
    }
    this.#settings = {
      script: [...script],
      speed: positive('speed', options.speed, 1),
      generationSpeed: positive('generationSpeed', options.generationSpeed, 2),
      deltaMs:
        typeof options.deltaMs === 'object' ? deltaPattern(options.deltaMs) : positive('deltaMs', options.deltaMs, 100),
      responseLatencyMs: nonNegative('responseLatencyMs', options.responseLatencyMs, 300),
      vad,
      inputTranscript: transcriptFunction(options.inputTranscript),
    };
    this.#acceptDelayMs = nonNegative('acceptDelayMs', options.acceptDelayMs, 0) / this.#settings.speed;
    this.#requireAuth = options.requireAuth ?? true;
  }

  /** `ws://host:port/v1/realtime`; throws before start(). */
  get url(): string {
    if (this.#url === null) throw new Error('RealtimeSimulator: not started (call start() first)');
    return this.#url;
  }

  get port(): number {
    return this.#port;
  }

  /** Sessions whose socket is still open. */
  get openSessions(): SimulatedSession[] {
    return this.sessions.filter((s) => !s.isClosed);
  }

  /** Resolves with the next session that connects. */
  nextSession(): Promise<SimulatedSession> {
    return new Promise((resolve) => this.once('session', resolve));
  }

  async start(options: { port?: number; host?: string } = {}): Promise<{ url: string; port: number }> {
    if (this.#http) throw new Error('RealtimeSimulator: already started');
    const host = options.host ?? '127.0.0.1';
    const http = createServer((req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end(`Switchboard realtime simulator: open a WebSocket to ${REALTIME_PATH}\n`);
    });
    const wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => {
        if (protocols.has('realtime')) return 'realtime';
        const first = protocols.values().next();
        return first.done ? false : first.value;
      },
    });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(wss, req, socket, head));
    http.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        http.off('listening', onListening);
        reject(error);
      };
      const onListening = () => {
        http.off('error', onError);
        resolve();
      };
      http.once('error', onError);
      http.once('listening', onListening);
      http.listen(options.port ?? 0, host);
    });
    this.#http = http;
    this.#wss = wss;
    const address = http.address() as AddressInfo;
    this.#port = address.port;
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.#url = `ws://${shownHost}:${address.port}${REALTIME_PATH}`;
    log('listening on %s', this.#url);
    return { url: this.#url, port: this.#port };
  }

  async stop(): Promise<void> {
    const http = this.#http;
    const wss = this.#wss;
    if (!http || !wss) return;
    this.#http = null;
    this.#wss = null;
    for (const [socket, timer] of this.#pendingUpgrades) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.#pendingUpgrades.clear();
    await Promise.all(this.sessions.map((session) => session.close(1001, 'simulator stopping')));
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    log('stopped');
  }

  #onUpgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => log('upgrade socket error: %s', error.message));
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (url.pathname !== REALTIME_PATH && url.pathname !== `${REALTIME_PATH}/`) {
      rejectUpgrade(socket, 404, 'Not Found', `no realtime endpoint at ${url.pathname}; use ${REALTIME_PATH}`);
      return;
    }
    const authorization = firstHeader(req.headers.authorization);
    const protocols = (firstHeader(req.headers['sec-websocket-protocol']) ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    let auth: SimulatedConnectionInfo['auth'] = 'none';
    if (authorization !== undefined && /^Bearer\s+\S+/i.test(authorization)) auth = 'bearer';
    else if (protocols.some((p) => p.startsWith(INSECURE_KEY_PROTOCOL) && p.length > INSECURE_KEY_PROTOCOL.length)) {
      auth = 'subprotocol';
    }
    if (this.#requireAuth && auth === 'none') {
      log('rejected an upgrade without credentials');
      rejectUpgrade(socket, 401, 'Unauthorized', 'missing credentials: send "Authorization: Bearer <key>"');
      return;
    }
    const info: Omit<SimulatedConnectionInfo, 'protocol'> = {
      url: `${url.pathname}${url.search}`,
      auth,
      ...(url.searchParams.get('model') ? { model: url.searchParams.get('model')! } : {}),
      ...(url.searchParams.get('call_id') ? { callId: url.searchParams.get('call_id')! } : {}),
    };
    const accept = () => {
      this.#pendingUpgrades.delete(socket);
      if (!this.#wss || socket.destroyed) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) =>
        this.#onConnection(ws, { ...info, protocol: ws.protocol }),
      );
    };
    if (this.#acceptDelayMs > 0) {
      const timer = setTimeout(accept, this.#acceptDelayMs);
      this.#pendingUpgrades.set(socket, timer);
      socket.once('close', () => {
        const pending = this.#pendingUpgrades.get(socket);
        if (pending) {
          clearTimeout(pending);
          this.#pendingUpgrades.delete(socket);
        }
      });
    } else {
      accept();
    }
  }

  #onConnection(ws: WebSocket, info: SimulatedConnectionInfo): void {
    const session = new SimulatedSession(ws, this.#settings, info);
    this.sessions.push(session);
    this.emit('session', session);
  }
}

function rejectUpgrade(socket: Duplex, status: number, reason: string, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
