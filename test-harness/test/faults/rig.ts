/**
 * The fault matrix's rig: every piece of a call on real loopback sockets. A bridge (a `ws`
 * server with a Twilio transport on each media socket), a carrier (a `ws` client writing what
 * Twilio writes, through the Twilio peer simulator), a hand-written model server for the faults
 * that need a model the realtime simulator will not play (silent, or one that streams megabytes as
 * fast as the socket takes them), and the checks every fault ends with: nothing thrown out of the
 * process, and no timer, socket or server left behind.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
import { createServer, type Server, type Socket } from 'node:net';
import { silence, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { TwilioRealtimeTransport, type TwilioRealtimeTransportOptions } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/** Resolves once `condition` holds, looking every 10 ms; rejects after `timeoutMs` (generous: loaded machines). */
export async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Bytes of audio in a base64 string. */
export function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

// ---------------------------------------------------------------------------------------------
// The process

/** Records every uncaught exception and unhandled rejection while installed. */
export class ProcessGuard {
  readonly uncaught: unknown[] = [];
  readonly unhandled: unknown[] = [];
  readonly #onUncaught = (error: unknown) => void this.uncaught.push(error);
  readonly #onUnhandled = (reason: unknown) => void this.unhandled.push(reason);

  constructor() {
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', this.#onUnhandled);
  }

  dispose(): void {
    process.off('uncaughtException', this.#onUncaught);
    process.off('unhandledRejection', this.#onUnhandled);
  }
}

/** Active handles and requests of this process, counted by type (`Timeout`, `TCPSocketWrap`, ...). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Types whose count may move on its own while a test runs (file reads of the test runner, its IPC). */
const RUNNER_NOISE = new Set(['FSReqCallback', 'FSReqPromise', 'FileHandleCloseReq', 'StatWatcher']);

/** The resource types of which more are active now than in `before`, with both counts. */
export function resourcesAbove(before: Map<string, number>): Record<string, string> {
  const above: Record<string, string> = {};
  for (const [type, count] of activeResources()) {
    if (RUNNER_NOISE.has(type)) continue;
    const was = before.get(type) ?? 0;
    if (count > was) above[type] = `${was} -> ${count}`;
  }
  return above;
}

/** Async resource types that a call's leftovers would be: timers, immediates, sockets, servers, child processes. */
const TRACKED_TYPES = new Set([
  'Timeout',
  'Immediate',
  'TCPWRAP',
  'TCPSERVERWRAP',
  'TCPCONNECTWRAP',
  'PIPEWRAP',
  'PROCESSWRAP',
  'SHUTDOWNWRAP',
]);

/** Where the timers of the Agents SDK's trace exporter are created. */
const PROCESS_WIDE_TIMER = /[\\/]@openai[\\/]agents-core[\\/]dist[\\/]tracing[\\/]/;

/**
 * The timers, sockets, servers and child processes created while it is started and not yet
 * destroyed (cleared, fired, closed, exited), by type. Counting active resources before and after
 * a call cannot tell a timer of the call's from one of the test runner's; this can.
 */
export class ResourceTracker {
  readonly #live = new Map<number, string>();
  #ignoring = false;
  readonly #hook: AsyncHook = createHook({
    init: (asyncId, type) => {
      if (!TRACKED_TYPES.has(type) || this.#ignoring) return;
      // The Agents SDK's trace exporter re-arms one unref'd timer for the whole process, whatever
      // the calls do: not a call's.
      if (type === 'Timeout' && PROCESS_WIDE_TIMER.test(new Error().stack ?? '')) return;
      this.#live.set(asyncId, type);
    },
    destroy: (asyncId) => {
      this.#live.delete(asyncId);
    },
  });

  start(): this {
    this.#hook.enable();
    return this;
  }

  stop(): void {
    this.#hook.disable();
  }

  /** Waits `ms` on a timer of the tracker's own, which it does not count. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#ignoring = true;
      try {
        setTimeout(resolve, ms);
      } finally {
        this.#ignoring = false;
      }
    });
  }

  /** What is still alive of what was created since `start()`, counted by type. */
  alive(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const type of this.#live.values()) counts[type] = (counts[type] ?? 0) + 1;
    return counts;
  }
}

/**
 * Waits until nothing created since `tracker` started is alive and no more timers, sockets,
 * servers or child processes are active than in `before` (sockets take a moment to finish
 * closing); fails naming what was left.
 */
export async function expectNothingLeft(
  before: Map<string, number>,
  tracker?: ResourceTracker,
  timeoutMs = 20_000,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const above = resourcesAbove(before);
    const alive = tracker?.alive() ?? {};
    if (Object.keys(above).length === 0 && Object.keys(alive).length === 0) return;
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `resources left after the call: active ${JSON.stringify(above)}, created during the call and alive ${JSON.stringify(alive)}`,
      );
    }
    await (tracker ? tracker.sleep(20) : new Promise((resolve) => setTimeout(resolve, 20)));
  }
}

// ---------------------------------------------------------------------------------------------
// The bridge: a media WebSocket server with a Twilio transport per socket

/** One call on the bridge, with what its transport reported. */
export class BridgeCall {
  readonly ends: string[] = [];
  /** `error` events, by code (`SwitchboardError`, `ProtocolError`), else the message. */
  readonly errors: string[] = [];
  /** Model audio bytes the transport received in `response.output_audio.delta` events. */
  deltaBytes = 0;
  /** `metrics.framesIn` when `call_end` was emitted. */
  framesInAtEnd: number | undefined;
  /** Resolves when the server side of the media socket has closed. */
  readonly socketClosed: Promise<void>;
  /**
   * Events the media socket emitted after `call_end` (`message`, `error`, ...), seen without a
   * listener of the test's own (which would hide an error event nobody listens to).
   */
  readonly socketEventsAfterEnd: string[] = [];

  constructor(
    readonly transport: TwilioRealtimeTransport,
    readonly socket: WebSocket,
    /** Listeners on the socket before the transport took it (the server's own). */
    readonly listenersBefore: number,
  ) {
    transport.on('call_end', (event) => {
      this.ends.push(event.reason);
      this.framesInAtEnd ??= transport.metrics.framesIn;
    });
    transport.on('error', (event) => this.errors.push(describeError(event.error)));
    transport.on('response.output_audio.delta', (event) => {
      this.deltaBytes += base64Bytes(event.delta);
    });
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    const emit = socket.emit.bind(socket);
    socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (this.ended) this.socketEventsAfterEnd.push(String(event));
      return emit(event, ...args);
    };
  }

  get ended(): boolean {
    return this.ends.length > 0;
  }

  /**
   * Every byte of model audio the transport received, as the metrics account for it: sent to the
   * carrier, never sent (the call ended, the socket failed), discarded by a barge-in, dropped as
   * late audio of a cancelled response, or dropped for want of a stream.
   */
  accountedBytes(): number {
    const m = this.transport.metrics;
    return (
      m.audioBytesOut +
      m.outputUnsentBytes +
      m.interruptedBytesDiscarded +
      m.lateAudioDroppedBytes +
      m.outputDroppedNoStreamBytes
    );
  }

  /** Listeners on the bridge's side of the media socket (for the events the transport uses) beyond the server's own. */
  socketListeners(): number {
    return socketListenerCount(this.socket) - this.listenersBefore;
  }
}

/**
 * An `error` event's error as a short string: its code (`SwitchboardError`, `ProtocolError`, the service's `error`
 * event), else its message.
 */
function describeError(error: unknown): string {
  const value = error as
    { code?: unknown; message?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  if (typeof value?.code === 'string') return value.code;
  if (typeof value?.error?.code === 'string') return value.error.code;
  if (typeof value?.message === 'string') return value.message;
  return String(error);
}

function socketListenerCount(socket: WebSocket): number {
  return ['message', 'close', 'error', 'pong'].reduce((n, event) => n + socket.listenerCount(event), 0);
}

export class Bridge {
  readonly calls: BridgeCall[] = [];
  readonly #wss: WebSocketServer;
  readonly #options: () => Partial<TwilioRealtimeTransportOptions>;
  #waiting: Array<(call: BridgeCall) => void> = [];

  private constructor(wss: WebSocketServer, options: () => Partial<TwilioRealtimeTransportOptions>) {
    this.#wss = wss;
    this.#options = options;
    wss.on('connection', (socket) => {
      const listenersBefore = socketListenerCount(socket);
      const transport = new TwilioRealtimeTransport({
        twilioWebSocket: socket,
        // The carrier streams silence: no need to pad for a quiet line.
        inputAudioInactivityTimeoutMs: null,
        ...this.#options(),
      });
      const call = new BridgeCall(transport, socket, listenersBefore);
      this.calls.push(call);
      for (const resolve of this.#waiting.splice(0)) resolve(call);
    });
  }

  /** Listens on 127.0.0.1; `options` are the transport options of each call (`url` of the model at least). */
  static async start(options: () => Partial<TwilioRealtimeTransportOptions>): Promise<Bridge> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new Bridge(wss, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as { port: number }).port}/media-stream`;
  }

  /** The next call that connects. */
  nextCall(): Promise<BridgeCall> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The carrier: a ws client writing Twilio's frames

export type Closed = { code: number; reason: string };

/** Twilio's side of one call: frames written by the Twilio peer simulator, what the bridge sent decoded by it. */
export class CarrierClient {
  readonly peer = new TwilioPeerSimulator();
  /** Audio bytes received in `media` messages. */
  mediaBytes = 0;
  marks = 0;
  clears = 0;
  pings = 0;
  /** Frames Twilio would have refused (warning 31951 and the like). */
  readonly refused: unknown[] = [];
  readonly closed: Promise<Closed>;
  closedWith: Closed | undefined;
  /** Marks sent and not yet acknowledged: Twilio echoes them when it clears its queue. */
  #pendingMarks: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.#stopStreaming();
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
      });
    });
    // Reported as the close (1006).
    ws.on('error', () => undefined);
    ws.on('ping', () => this.pings++);
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
  }

  static open(url: string): Promise<CarrierClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new CarrierClient(ws)));
      ws.once('error', reject);
    });
  }

  /** The carrier sends what `event` is on Twilio's wire. */
  send(event: CallEvent): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    for (const frame of this.peer.encodeInbound(event)) this.ws.send(frame);
  }

  /** `connected` and `start`, then 20 ms of silence every 20 ms until the call closes or {@link stopStreaming}. */
  start(): void {
    this.send({ type: 'call_start', callId: '', streamId: '', format: PCMU, customParameters: {}, raw: {} });
    const frame = silence(PCMU, 20);
    this.#timer = setInterval(() => this.send({ type: 'audio', payload: frame }), 20);
  }

  /** The caller's audio stops (the socket stays open). */
  stopStreaming(): void {
    this.#stopStreaming();
  }

  /** The carrier's process stops reading its socket: no frames read, no pongs. */
  pauseReading(): void {
    this.#rawSocket().pause();
  }

  resumeReading(): void {
    this.#rawSocket().resume();
  }

  /** Writes bytes on the TCP socket under the WebSocket, bypassing the WebSocket framing. */
  writeRaw(bytes: Uint8Array): void {
    this.#rawSocket().write(bytes);
  }

  /** The carrier's side drops (no closing handshake). */
  terminate(): void {
    this.#stopStreaming();
    this.ws.terminate();
  }

  #rawSocket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  #stopStreaming(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    let commands: OutboundCommand[];
    try {
      commands = this.peer.decodeOutbound(isBinary ? new Uint8Array(data as Buffer) : String(data));
    } catch (error) {
      this.refused.push(error);
      return;
    }
    for (const command of commands) {
      if (command.type === 'audio') this.mediaBytes += command.payload.byteLength;
      else if (command.type === 'mark') {
        this.marks++;
        this.#pendingMarks.push(command.name);
      } else if (command.type === 'clear') {
        this.clears++;
        // Twilio empties its queue and echoes every mark still in it.
        for (const name of this.#pendingMarks.splice(0)) this.send({ type: 'playback_ack', name });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A hand-written model: the Realtime API's events, only as many as a fault needs

export type ModelEvent = { type: string; [key: string]: any };

/** One connection to the {@link ModelServer}. */
export class ModelConnection {
  /** Client events received, by type. */
  readonly counts = new Map<string, number>();
  /** The last client events received, appends left out (a long call keeps only the recent ones). */
  readonly recent: ModelEvent[] = [];
  /** Audio bytes received in `input_audio_buffer.append` events. */
  appendedBytes = 0;
  closeCode: number | undefined;
  readonly closed: Promise<void>;
  #n = 0;
  #waiters: Array<{ match: (event: ModelEvent) => boolean; resolve: (event: ModelEvent) => void }> = [];

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
    ws.on('error', () => undefined);
  }

  get isClosed(): boolean {
    return this.closeCode !== undefined;
  }

  count(type: string): number {
    return this.counts.get(type) ?? 0;
  }

  receive(event: ModelEvent): void {
    this.counts.set(event.type, this.count(event.type) + 1);
    if (event.type === 'input_audio_buffer.append') {
      if (typeof event.audio === 'string') this.appendedBytes += base64Bytes(event.audio);
    } else {
      this.recent.push(event);
      if (this.recent.length > 50) this.recent.shift();
    }
    for (const waiter of [...this.#waiters]) {
      if (!waiter.match(event)) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  }

  /** The next client event matching `match` (only those received from now on). */
  next(match: (event: ModelEvent) => boolean): Promise<ModelEvent> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  send(event: ModelEvent): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event_id: `evt_${++this.#n}`, ...event }));
  }

  responseCreated(responseId: string): void {
    this.send({
      type: 'response.created',
      response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] },
    });
  }

  delta(responseId: string, itemId: string, base64: string): void {
    this.send({
      type: 'response.output_audio.delta',
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: base64,
    });
  }

  responseDone(responseId: string, status: 'completed' | 'cancelled'): void {
    this.send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status, output: [] } });
  }

  /**
   * Streams one response's audio as fast as the socket takes it: `chunk` (base64) again and again
   * until `maxBytes` of audio went out or the socket closed. Resolves with the audio bytes sent.
   */
  async stream(responseId: string, itemId: string, chunk: string, maxBytes: number): Promise<number> {
    this.responseCreated(responseId);
    const bytes = base64Bytes(chunk);
    let sent = 0;
    while (sent < maxBytes && this.ws.readyState === WebSocket.OPEN) {
      this.delta(responseId, itemId, chunk);
      sent += bytes;
      // Let the socket drain (and the bridge run) rather than buffering megabytes here.
      while (this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount > 512 * 1024)
        await new Promise((resolve) => setTimeout(resolve, 1));
      if (sent % (bytes * 16) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return sent;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/**
 * A Realtime API stand-in on 127.0.0.1 that answers the handshake with `session.created` (unless
 * told not to), echoes `session.update` as `session.updated`, and leaves the rest to the test.
 */
export class ModelServer {
  readonly connections: ModelConnection[] = [];
  readonly #wss: WebSocketServer;
  #waiting: Array<(connection: ModelConnection) => void> = [];

  private constructor(wss: WebSocketServer, options: { sessionCreated: (n: number) => boolean }) {
    this.#wss = wss;
    wss.on('connection', (ws) => {
      const connection = new ModelConnection(ws);
      this.connections.push(connection);
      let session: Record<string, unknown> = {
        type: 'realtime',
        object: 'realtime.session',
        id: `sess_${this.connections.length}`,
        tracing: null,
      };
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as ModelEvent;
        if (event.type === 'session.update') {
          session = { ...session, ...(event.session as object) };
          connection.send({ type: 'session.updated', session });
        }
        connection.receive(event);
      });
      if (options.sessionCreated(this.connections.length)) connection.send({ type: 'session.created', session });
      for (const resolve of this.#waiting.splice(0)) resolve(connection);
    });
  }

  /**
   * `sessionCreated`: whether the n-th connection (from 1) is answered with `session.created`, or
   * whether every one is. Default: every one.
   */
  static async start(options: { sessionCreated?: boolean | ((n: number) => boolean) } = {}): Promise<ModelServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const answer = options.sessionCreated ?? true;
    return new ModelServer(wss, { sessionCreated: typeof answer === 'function' ? answer : () => answer });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as { port: number }).port}/v1/realtime?model=gpt-realtime`;
  }

  nextConnection(): Promise<ModelConnection> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

/** A TCP server that accepts connections and never says a word: a model stuck before the WebSocket handshake. */
export class SilentTcpServer {
  readonly sockets: Array<{ socket: Socket; closed: boolean }> = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<SilentTcpServer> {
    const server = createServer();
    const silent = new SilentTcpServer(server);
    server.on('connection', (socket) => {
      const entry = { socket, closed: false };
      silent.sockets.push(entry);
      socket.on('error', () => undefined);
      socket.on('close', () => (entry.closed = true));
      // Read (and ignore) the upgrade request, so the client's write completes.
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return silent;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as { port: number }).port}/v1/realtime?model=gpt-realtime`;
  }

  async close(): Promise<void> {
    for (const { socket } of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
