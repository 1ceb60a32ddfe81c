/**
 * Fakes for a transport's unit tests: an in-memory carrier socket, a small JSON wire format that
 * exercises the core without any real carrier, a clock moved by hand, and a realtime model server
 * on loopback. Free of any test framework.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import {
  base64Decode,
  base64Encode,
  concatBytes,
  ProtocolError,
  type AudioFormat,
  type CallEvent,
  type MediaConnection,
  type MediaFrame,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';

/** An in-memory carrier socket: the test plays the carrier, the transport sees a MediaConnection. */
export class FakeCarrier implements MediaConnection {
  sent: MediaFrame[] = [];
  closed = false;
  bufferedAmount = 0;
  #message = new Set<(frame: MediaFrame) => void>();
  #close = new Set<(code?: number, reason?: string) => void>();
  #error = new Set<(error: unknown) => void>();

  /** How deeply writes are held (cork), and the frames sent while held, per burst. */
  corked = 0;
  bursts: MediaFrame[][] = [];
  send(frame: MediaFrame): void {
    if (this.closed) throw new Error('send on closed socket');
    this.sent.push(frame);
    if (this.corked > 0) this.bursts.at(-1)!.push(frame);
  }
  cork(): void {
    if (this.corked++ === 0) this.bursts.push([]);
  }
  uncork(): void {
    this.corked--;
  }
  onMessage(handler: (frame: MediaFrame) => void) {
    this.#message.add(handler);
    return () => void this.#message.delete(handler);
  }
  onClose(handler: (code?: number, reason?: string) => void) {
    this.#close.add(handler);
    return () => void this.#close.delete(handler);
  }
  onError(handler: (error: unknown) => void) {
    this.#error.add(handler);
    return () => void this.#error.delete(handler);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of [...this.#close]) h(1000, 'closed');
  }
  /** The carrier sends a frame to the bridge. */
  deliver(frame: MediaFrame): void {
    for (const h of [...this.#message]) h(frame);
  }
  get listenerCount(): number {
    return this.#message.size + this.#close.size + this.#error.size;
  }
  /** Decoded commands the bridge sent. */
  commands(): OutboundCommand[] {
    return this.sent.map((f) => JSON.parse(f as string) as TestWire).map(fromWire);
  }
}

type TestWire =
  | { e: 'start'; stream: string; enc?: AudioFormat['encoding']; rate?: number }
  | { e: 'audio'; b64: string; seq?: number; ts?: number }
  | { e: 'dtmf'; digit: string }
  | { e: 'ack'; name: string }
  | { e: 'stop' }
  | { e: 'xoff' }
  | { e: 'xon' }
  | { e: 'play'; b64: string }
  | { e: 'mark'; name: string }
  | { e: 'clear' };

function fromWire(w: TestWire): OutboundCommand {
  switch (w.e) {
    case 'play':
      return { type: 'audio', payload: base64Decode(w.b64) };
    case 'mark':
      return { type: 'mark', name: w.name };
    case 'clear':
      return { type: 'clear' };
    default:
      throw new Error(`not an outbound frame: ${w.e}`);
  }
}

/** A small JSON wire format for tests, so core is tested without any real provider. */
export class TestProtocol implements MediaStreamProtocol {
  readonly name = 'testcarrier';
  readonly defaultFormat: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  readonly capabilities: ProtocolCapabilities;
  constructor(capabilities: Partial<ProtocolCapabilities> = {}) {
    this.capabilities = {
      playbackAck: 'mark',
      ackOnClear: 'echo-pending',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 20 },
      ...capabilities,
    };
  }
  decode(frame: string | Uint8Array): CallEvent[] {
    let w: TestWire;
    try {
      w = JSON.parse(frame as string) as TestWire;
    } catch (cause) {
      throw new ProtocolError(this.name, 'not JSON', { cause, frame });
    }
    switch (w.e) {
      case 'start':
        return [
          {
            type: 'call_start',
            streamId: w.stream,
            callId: 'call-1',
            format: { encoding: w.enc ?? 'pcmu', sampleRate: w.rate ?? 8000, channels: 1 },
            customParameters: { who: 'test' },
            raw: w,
          },
        ];
      case 'audio':
        return [{ type: 'audio', payload: base64Decode(w.b64), sequence: w.seq, timestampMs: w.ts }];
      case 'dtmf':
        return [{ type: 'dtmf', digit: w.digit }];
      case 'ack':
        return [{ type: 'playback_ack', name: w.name }];
      case 'stop':
        return [{ type: 'call_end', reason: 'stop' }];
      case 'xoff':
        return [{ type: 'flow_control', paused: true }];
      case 'xon':
        return [{ type: 'flow_control', paused: false }];
      default:
        throw new ProtocolError(this.name, `unknown event ${String((w as { e?: unknown }).e)}`, { frame });
    }
  }
  encode(command: OutboundCommand): string[] {
    switch (command.type) {
      case 'audio':
        return [JSON.stringify({ e: 'play', b64: base64Encode(command.payload) })];
      case 'mark':
        return [JSON.stringify({ e: 'mark', name: command.name })];
      case 'clear':
        return [JSON.stringify({ e: 'clear' })];
      default:
        return [];
    }
  }
}

/** Frames of the {@link TestProtocol} wire format, as the test carrier sends them. */
export const wire = {
  start: (stream = 'S1', enc?: AudioFormat['encoding'], rate?: number) =>
    JSON.stringify({ e: 'start', stream, enc, rate }),
  audio: (bytes: Uint8Array, seq?: number, ts?: number) =>
    JSON.stringify({ e: 'audio', b64: base64Encode(bytes), seq, ts }),
  dtmf: (digit: string) => JSON.stringify({ e: 'dtmf', digit }),
  ack: (name: string) => JSON.stringify({ e: 'ack', name }),
  stop: () => JSON.stringify({ e: 'stop' }),
  xoff: () => JSON.stringify({ e: 'xoff' }),
  xon: () => JSON.stringify({ e: 'xon' }),
};

/** A clock the test moves by hand: `advance` runs the timers that fall due, in order. */
export class ManualClock {
  time = 1_000_000;
  #timers: Array<{ at: number; callback: () => void; id: number }> = [];
  #ids = 0;
  now = (): number => this.time;
  setTimeout = (callback: () => void, delayMs: number): unknown => {
    const id = ++this.#ids;
    this.#timers.push({ at: this.time + Math.max(0, delayMs), callback, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };
  get pending(): number {
    return this.#timers.length;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = end;
  }
}

/** A client event the fake model received. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary event fields
export type ClientEvent = { type: string; [key: string]: any };

/**
 * A minimal OpenAI Realtime server on loopback: sends `session.created`, echoes `session.update`
 * as `session.updated`, records every client event, and lets the test push server events.
 */
export class FakeRealtimeServer {
  readonly received: ClientEvent[] = [];
  #wss: WebSocketServer | undefined;
  #socket: WebSocket | undefined;
  #n = 0;
  #session: Record<string, unknown> = { type: 'realtime', id: 'sess_test', tracing: null };
  #waiters: Array<{ pred: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }> = [];
  connections = 0;
  closedSockets = 0;

  async start(): Promise<string> {
    this.#wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => this.#wss!.once('listening', () => r()));
    this.#wss.on('connection', (ws) => {
      this.connections++;
      this.#socket = ws;
      ws.on('close', () => this.closedSockets++);
      this.send({ type: 'session.created', session: this.#session });
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as ClientEvent;
        this.received.push(event);
        if (event.type === 'session.update') {
          this.#session = { ...this.#session, ...(event.session as object) };
          this.send({ type: 'session.updated', session: this.#session });
        }
        for (const w of [...this.#waiters]) {
          if (w.pred(event)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(event);
          }
        }
      });
    });
    const { port } = this.#wss.address() as { port: number };
    return `ws://127.0.0.1:${port}/v1/realtime?model=test`;
  }

  send(event: Record<string, unknown>): void {
    this.#socket?.send(JSON.stringify({ event_id: `evt_${++this.#n}`, ...event }));
  }

  /** Resolves with the first received event (past or future) matching `pred`. */
  waitFor(pred: (e: ClientEvent) => boolean, timeoutMs = 5000): Promise<ClientEvent> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a client event')), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  ofType(type: string): ClientEvent[] {
    return this.received.filter((e) => e.type === type);
  }

  /** Concatenation of all appended input audio. */
  inputAudio(): Uint8Array {
    return concatBytes(this.ofType('input_audio_buffer.append').map((e) => base64Decode(e.audio as string)));
  }

  /** Streams one audio response: created, `deltas` audio deltas, done events. */
  respond(id: string, itemId: string, deltas: Uint8Array[], opts: { done?: boolean } = {}): void {
    this.send({
      type: 'response.created',
      response: { id, object: 'realtime.response', status: 'in_progress', output: [] },
    });
    for (const d of deltas) this.delta(id, itemId, d);
    if (opts.done !== false) this.finish(id, itemId);
  }

  delta(id: string, itemId: string, bytes: Uint8Array): void {
    this.send({
      type: 'response.output_audio.delta',
      response_id: id,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: base64Encode(bytes),
    });
  }

  finish(id: string, itemId: string, status = 'completed'): void {
    this.send({
      type: 'response.output_audio.done',
      response_id: id,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
    });
    this.send({
      type: 'response.done',
      response: { id, status, output: [], usage: { input_tokens: 1, output_tokens: 1 } },
    });
  }

  async stop(): Promise<void> {
    for (const c of this.#wss?.clients ?? []) c.terminate();
    await new Promise<void>((r) => (this.#wss ? this.#wss.close(() => r()) : r()));
  }
}

/** Resolves after `ms` milliseconds (a timer turn by default). */
export const tick = (ms = 0): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every few milliseconds; rejects once `timeoutMs` passed without it holding. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await tick(5);
  }
}
