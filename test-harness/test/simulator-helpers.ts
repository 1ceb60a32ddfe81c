/** Shared helpers of the simulator tests: synthetic audio and a raw protocol client. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { encodeMuLaw, Resampler } from '@switchboard/core';
import type { SimulatorTurn } from '../src/simulator/index.js';

/** Sum of sines at `freqs`, at `dbfs` overall peak level, `ms` long, at `rate`. */
export function tone(ms: number, rate: number, freqs: number[], dbfs: number): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const amplitude = 32767 * 10 ** (dbfs / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (const f of freqs) v += Math.sin((2 * Math.PI * f * i) / rate);
    out[i] = Math.round((v / freqs.length) * amplitude);
  }
  return out;
}

export function silence(ms: number, rate: number): Int16Array {
  return new Int16Array(Math.round((rate * ms) / 1000));
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A scripted audio turn: a 440 Hz tone at 24 kHz. */
export function toneTurn(ms: number, transcript = 'This is a scripted test reply from the simulator.'): SimulatorTurn {
  return { kind: 'audio', transcript, audio: tone(ms, 24000, [440], -10) };
}

/** Speech-like μ-law audio: a 300 Hz + 1 kHz burst at -12 dBFS, then silence. */
export function speechLikeMuLaw(burstMs = 800, silenceMs = 700): Uint8Array {
  return encodeMuLaw(concat(tone(burstMs, 8000, [300, 1000], -12), silence(silenceMs, 8000)));
}

/** Splits bytes into chunks of `size` (the last one may be shorter). */
export function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** 8 kHz samples as 24 kHz (for PCM input). */
export function upsampleTo24k(samples: Int16Array): Int16Array {
  const r = new Resampler(8000, 24000);
  return concat(r.process(samples), r.flush());
}

type ServerEvent = Record<string, unknown> & { type: string; event_id?: string };

/** A bare protocol client: sends JSON events, keeps every server event, waits for matches. */
export class RawClient {
  readonly received: ServerEvent[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<void>;
  #waiters: Array<{ predicate: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void; from: number }> = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as ServerEvent;
      this.received.push(event);
      const index = this.received.length - 1;
      this.#waiters = this.#waiters.filter((w) => {
        if (index >= w.from && w.predicate(event)) {
          w.resolve(event);
          return false;
        }
        return true;
      });
    });
  }

  static async connect(
    url: string,
    headers: Record<string, string> = { Authorization: 'Bearer test' },
  ): Promise<RawClient> {
    const socket = new WebSocket(`${url}?model=gpt-realtime`, { headers });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(event: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(event));
  }

  /** The first event (received so far or later) matching `predicate`, from index `from`. */
  waitFor(predicate: (e: ServerEvent) => boolean, from = 0): Promise<ServerEvent> {
    const found = this.received.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve, from }));
  }

  waitForType(type: string, from = 0): Promise<ServerEvent> {
    return this.waitFor((e) => e.type === type, from);
  }

  ofType(type: string): ServerEvent[] {
    return this.received.filter((e) => e.type === type);
  }

  close(): Promise<void> {
    this.socket.close();
    return this.closed;
  }
}

/** The SDK's own zod schema for server events (the one it parses every message with). */
export async function sdkServerEventSchema(): Promise<{
  safeParse(value: unknown): { success: boolean; error?: unknown };
}> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@openai/agents-realtime'));
  const mod = (await import(pathToFileURL(join(dir, 'openaiRealtimeEvents.mjs')).href)) as {
    realtimeServerEventSchema: { safeParse(value: unknown): { success: boolean; error?: unknown } };
  };
  return mod.realtimeServerEventSchema;
}
