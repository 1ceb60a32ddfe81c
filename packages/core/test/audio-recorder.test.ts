import { describe, expect, it } from 'vitest';
import {
  CallAudioRecorder,
  encodeALaw,
  encodeMuLaw,
  SwitchboardError,
  type AudioFormat,
  type CallAudioRecorderOptions,
  type MediaObserver,
  type TelephonyRealtimeTransport,
} from '../src/index.js';

const L16_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const PCMA: AudioFormat = { encoding: 'pcma', sampleRate: 8000, channels: 1 };
const T0 = 1_000_000;

/** What the recorder needs of a transport, driven by hand: media observers and `*` events. */
class FakeCall {
  observers: MediaObserver[] = [];
  listeners: Array<(event: unknown) => void> = [];
  endReason: string | undefined;
  carrierFormat: AudioFormat = PCMU;
  observeMedia(observer: MediaObserver): () => void {
    this.observers.push(observer);
    return () => (this.observers = this.observers.filter((o) => o !== observer));
  }
  on(type: string, listener: (event: unknown) => void): this {
    if (type === '*') this.listeners.push(listener);
    return this;
  }
  off(type: string, listener: (event: unknown) => void): this {
    if (type === '*') this.listeners = this.listeners.filter((l) => l !== listener);
    return this;
  }
  caller(payload: Uint8Array, at: number, format = L16_8K): void {
    for (const o of this.observers) o.callerAudio?.(payload, format, at);
  }
  agent(payload: Uint8Array, at: number, format = L16_8K): void {
    for (const o of this.observers) o.agentAudio?.(payload, format, at);
  }
  clear(at: number): void {
    for (const o of this.observers) o.cleared?.(at);
  }
  emit(event: Record<string, unknown>): void {
    for (const l of this.listeners) l(event);
  }
  end(reason: string, at: number): void {
    this.endReason = reason;
    this.emit({ type: 'call_end', reason });
    for (const o of [...this.observers]) o.ended?.(reason, at);
  }
  get transport(): TelephonyRealtimeTransport {
    return this as unknown as TelephonyRealtimeTransport;
  }
}

/** A WAV sink in memory, and the two channels of what it got (sizes from the final header). */
class MemorySink {
  chunks: Uint8Array[] = [];
  bytes = 0;
  ended = 0;
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.bytes += bytes.byteLength;
  }
  end(): void {
    this.ended++;
  }
  file(header?: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    if (header) out.set(header, 0);
    return out;
  }
}

function channels(file: Uint8Array): { rate: number; left: Int16Array; right: Int16Array; dataSize: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect(String.fromCharCode(...file.subarray(0, 4))).toBe('RIFF');
  expect(view.getUint16(22, true)).toBe(2);
  expect(view.getUint16(34, true)).toBe(16);
  const frames = (file.byteLength - 44) / 4;
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = view.getInt16(44 + 4 * i, true);
    right[i] = view.getInt16(46 + 4 * i, true);
  }
  return { rate: view.getUint32(24, true), left, right, dataSize: view.getUint32(40, true) };
}

/** `ms` of 8 kHz L16 holding `value` in every sample. */
function l16(value: number, ms = 20): Uint8Array {
  const samples = new Int16Array((ms * 8000) / 1000).fill(value);
  return new Uint8Array(samples.buffer);
}

/** The runs of equal samples in `samples[from, to)`: [value, length] pairs. */
function runs(samples: Int16Array, from = 0, to = samples.length): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = from; i < to; i++) {
    const last = out[out.length - 1];
    if (last && last[0] === samples[i]) last[1]++;
    else out.push([samples[i]!, 1]);
  }
  return out;
}

function record(call: FakeCall, options: Partial<CallAudioRecorderOptions> = {}) {
  const sink = new MemorySink();
  const lines: string[] = [];
  const recorder = new CallAudioRecorder(call.transport, {
    sink,
    events: { write: (line: string) => lines.push(line) },
    ...options,
  });
  const events = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { sink, recorder, lines, events };
}

describe('CallAudioRecorder: where audio lands', () => {
  it('puts the caller on the left as spoken and the agent on the right from when it was sent', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call);
    // Caller frame k (20 ms) arrives as it ends: at T0 + 20 (k + 1).
    for (let k = 0; k < 100; k++) {
      call.caller(l16(100 + k), T0 + 20 * (k + 1));
      // The agent's reply leaves in one burst 200 ms in: ten 20 ms frames, played one after another.
      if (k === 9) for (let j = 0; j < 10; j++) call.agent(l16(-(100 + j)), T0 + 200);
    }
    call.end('carrier_stop', T0 + 2000);
    const done = await recorder.done;
    const { left, right, rate, dataSize } = channels(sink.file(done.header));
    expect(rate).toBe(8000);
    expect(dataSize).toBe(left.length * 4);
    // The recording runs from the first sample spoken to the end of the call.
    expect(left.length).toBe(16_000);
    expect(done.durationMs).toBe(2000);
    expect(runs(left)).toEqual(Array.from({ length: 100 }, (_, k) => [100 + k, 160]));
    expect(runs(right)).toEqual([
      [0, 1600],
      ...Array.from({ length: 10 }, (_, j) => [-(100 + j), 160]),
      [0, 16_000 - 3200],
    ]);
    expect(done.stats).toMatchObject({ cutMs: 0, droppedMs: 0, clears: 0, recordedMs: 2000, writeErrors: 0 });
  });
});

describe('CallAudioRecorder: barge-ins and gaps', () => {
  it('cuts the agent audio a clear removed, and plays the next reply from when it was sent', async () => {
    const call = new FakeCall();
    const { sink, recorder, events } = record(call);
    for (let k = 0; k < 75; k++) {
      const at = T0 + 20 * (k + 1);
      call.caller(l16(7), at);
      // One second of reply sent 200 ms in; the caller barges in 300 ms into it.
      if (k === 9) for (let j = 0; j < 50; j++) call.agent(l16(-1000), at);
      if (k === 24) call.clear(at);
      // The next reply leaves 600 ms in.
      if (k === 29) for (let j = 0; j < 5; j++) call.agent(l16(-2000), at);
    }
    call.end('carrier_stop', T0 + 1500);
    const done = await recorder.done;
    const { left, right } = channels(sink.file(done.header));
    expect(runs(left)).toEqual([[7, 12_000]]);
    // Heard: 200..500 ms of the first reply, then 600..700 ms of the second.
    expect(runs(right)).toEqual([
      [0, 1600],
      [-1000, 2400],
      [0, 800],
      [-2000, 800],
      [0, 12_000 - 5600],
    ]);
    expect(done.stats.clears).toBe(1);
    expect(done.stats.cutMs).toBe(700);
    expect(events().find((e) => e['type'] === 'clear')).toEqual({ at: 500, type: 'clear', cutMs: 700 });
  });

  it('cuts what was still queued for the caller when the call ended', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call);
    call.caller(l16(7), T0 + 20);
    for (let j = 0; j < 100; j++) call.agent(l16(-5), T0 + 20);
    call.end('agent_hangup', T0 + 1020);
    const done = await recorder.done;
    const { right } = channels(sink.file(done.header));
    expect(runs(right)).toEqual([
      [0, 160],
      [-5, 8000],
    ]);
    expect(done.stats.cutMs).toBe(1000);
    expect(done.reason).toBe('agent_hangup');
  });

  it('fills a pause in the caller audio with silence, and keeps a late frame in line (jitter is no gap)', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call);
    let at = T0;
    for (let k = 0; k < 10; k++) call.caller(l16(1), (at += 20));
    // A frame 30 ms late, the next on time: the stream runs on without a hole.
    call.caller(l16(2), (at += 50));
    call.caller(l16(3), (at += 0));
    // The carrier sends nothing for a second; audio resumes where its time says.
    at += 1000;
    for (let k = 0; k < 10; k++) call.caller(l16(4), (at += 20));
    call.end('carrier_stop', at);
    const done = await recorder.done;
    const { left } = channels(sink.file(done.header));
    expect(runs(left)).toEqual([
      [1, 1600],
      [2, 160],
      [3, 160],
      // The resumed audio was spoken from 1250 ms on.
      [0, 1250 * 8 - 1920],
      [4, 1600],
    ]);
  });

  it('keeps the caller where they spoke when a stalled stream catches up in a burst', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call);
    for (let k = 0; k < 100; k++) {
      // Frames 10 to 59 (one second of speech) are held up on the way and arrive at once.
      const at = k >= 10 && k < 60 ? T0 + 1200 : T0 + 20 * (k + 1);
      call.caller(l16(100 + k), at);
      if (k === 70) call.agent(l16(-1), T0 + 1500);
    }
    call.end('carrier_stop', T0 + 2000);
    const done = await recorder.done;
    const { left, right } = channels(sink.file(done.header));
    // No silence where the stream stalled, and no lag after it: frame k is at 20 k ms.
    expect(runs(left)).toEqual(Array.from({ length: 100 }, (_, k) => [100 + k, 160]));
    expect(runs(right)).toEqual([
      [0, 12_000],
      [-1, 160],
      [0, 16_000 - 12_160],
    ]);
  });

  it('decodes G.711 and resamples to the rate asked for', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call, { sampleRate: 16_000 });
    const tone = (n: number) =>
      Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * i) / 16)));
    for (let k = 0; k < 50; k++) {
      call.caller(encodeMuLaw(tone(160)), T0 + 20 * (k + 1), PCMU);
      call.agent(encodeALaw(tone(160)), T0 + 20 * k, PCMA);
    }
    call.end('carrier_stop', T0 + 1000);
    const done = await recorder.done;
    expect(done.sampleRate).toBe(16_000);
    const { left, right, rate } = channels(sink.file(done.header));
    expect(rate).toBe(16_000);
    expect(left.length).toBe(16_000);
    // Both voices are there at full level (the 500 Hz tone survives the resampler) past the filter's start.
    const peak = (s: Int16Array) => s.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak(left.subarray(1000, 15_000))).toBeGreaterThan(7000);
    expect(peak(right.subarray(1000, 15_000))).toBeGreaterThan(7000);
  });
});

describe('CallAudioRecorder: streaming and memory', () => {
  it('streams an hour-long call in blocks, holding about a second, with the real sizes in the final header', async () => {
    const call = new FakeCall();
    let bytes = 0;
    let writes = 0;
    let first: Uint8Array | undefined;
    const recorder = new CallAudioRecorder(call.transport, {
      sink: {
        write: (chunk: Uint8Array) => {
          first ??= chunk.slice();
          bytes += chunk.byteLength;
          writes++;
        },
      },
    });
    const frame = l16(300);
    const reply = l16(-300, 3000);
    let writtenAtHalfTime = 0;
    for (let k = 0; k < 180_000; k++) {
      const at = T0 + 20 * (k + 1);
      call.caller(frame, at);
      // A three-second reply, sent at once, every ten seconds.
      if (k % 500 === 250) call.agent(reply, at);
      if (k === 90_000) writtenAtHalfTime = bytes;
    }
    call.end('carrier_stop', T0 + 3_600_000);
    const done = await recorder.done;
    // The streamed header says "length unknown"; the final one has the sizes.
    const streamed = new DataView(first!.buffer);
    expect(first!.byteLength).toBe(44);
    expect(streamed.getUint32(40, true)).toBe(0xffffffff);
    const final = new DataView(done.header.buffer);
    expect(final.getUint32(40, true)).toBe(3_600_000 * 8 * 4);
    expect(final.getUint32(4, true)).toBe(36 + 3_600_000 * 8 * 4);
    expect(bytes).toBe(44 + 3_600_000 * 32);
    expect(done.durationMs).toBe(3_600_000);
    // Half-way through, all but the last two seconds had reached the sink.
    expect(writtenAtHalfTime).toBeGreaterThan(44 + (1_800_000 - 2000) * 32);
    // Never more than the hold, a block and a reply ahead in memory.
    expect(done.stats.maxHeldMs).toBeLessThanOrEqual(1500 + 500 + 3000 + 40);
    expect(recorder.stats.droppedMs).toBe(0);
    expect(writes).toBeGreaterThan(7000);
  });

  it('drops and counts agent audio scheduled beyond maxHeldMs', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call, { maxHeldMs: 2000 });
    call.caller(l16(1), T0 + 20);
    call.agent(l16(-1, 5000), T0 + 20);
    call.end('carrier_stop', T0 + 10_000);
    const done = await recorder.done;
    const { right } = channels(sink.file(done.header));
    // Held: two seconds from the first sample not yet written; the rest of the five-second burst is lost.
    expect(done.stats.droppedMs).toBe(3020);
    expect(runs(right).slice(0, 3)).toEqual([
      [0, 160],
      [-1, 16_000 - 160],
      [0, 80_000 - 16_000],
    ]);
  });
});

describe('CallAudioRecorder: events and sinks', () => {
  it("writes the call's events with their position, and nothing of the model's or the carrier's raw frames", async () => {
    const call = new FakeCall();
    let clock = T0;
    const { recorder, events, sink } = record(call, { now: () => clock });
    call.emit({ type: 'twilio_message', message: { event: 'start' } });
    clock += 5;
    call.emit({
      type: 'call_start',
      callId: 'CA1',
      streamId: 'MZ1',
      format: PCMU,
      customParameters: { a: 'b' },
      raw: { x: 1 },
    });
    for (let k = 0; k < 50; k++) call.caller(l16(1), (clock += 20));
    call.emit({ type: 'dtmf', digit: '5' });
    call.emit({ type: 'response.output_audio.delta', delta: 'AAAA' });
    clock += 100;
    call.emit({ type: 'injected_audio', id: 'a1', name: 'hold', phase: 'start' });
    clock += 400;
    call.end('carrier_stop', clock);
    const done = await recorder.done;
    expect(events().map((e) => [e['type'], e['at']])).toEqual([
      ['recording_start', 0],
      ['call_start', 5],
      ['dtmf', 1005],
      ['injected_audio', 1105],
      ['call_end', 1505],
      ['recording_end', 1505],
    ]);
    expect(events()[1]).toEqual({
      at: 5,
      type: 'call_start',
      callId: 'CA1',
      streamId: 'MZ1',
      format: PCMU,
      customParameters: { a: 'b' },
    });
    expect(events()[5]).toMatchObject({ reason: 'carrier_stop', sampleRate: 8000, recordedMs: 1505 });
    // With the transport's clock, the recording starts when the recorder was made.
    expect(channels(sink.file(done.header)).left.length).toBe(1505 * 8);
    expect(sink.ended).toBe(1);
    // Once over, the recorder no longer listens.
    expect(call.observers).toHaveLength(0);
    expect(call.listeners).toHaveLength(0);
  });

  it('without a clock, starts with the first audio and places an event where the latest audio was', async () => {
    const call = new FakeCall();
    const { recorder, events } = record(call);
    call.emit({ type: 'call_start', streamId: 'MZ1', format: PCMU, customParameters: {} });
    for (let k = 0; k < 25; k++) call.caller(l16(1), T0 + 5000 + 20 * (k + 1));
    call.emit({ type: 'dtmf', digit: '#' });
    call.clear(T0 + 5600);
    call.end('carrier_stop', T0 + 6000);
    await recorder.done;
    expect(events().map((e) => [e['type'], e['at']])).toEqual([
      ['recording_start', 0],
      ['call_start', 0],
      ['dtmf', 500],
      ['clear', 600],
      ['call_end', 600],
      ['recording_end', 1000],
    ]);
  });

  it('counts the failures of its sinks, tells of the first of each, and never throws into the call', async () => {
    const call = new FakeCall();
    const errors: SwitchboardError[] = [];
    let n = 0;
    const recorder = new CallAudioRecorder(call.transport, {
      sink: {
        write: () => {
          if (++n % 2 === 0) throw new Error('disk full');
          return Promise.reject(new Error('later'));
        },
        end: () => {
          throw new Error('closed');
        },
      },
      events: { write: () => false },
      onError: (error) => errors.push(error),
    });
    for (let k = 0; k < 200; k++) expect(() => call.caller(l16(1), T0 + 20 * (k + 1))).not.toThrow();
    call.emit({ type: 'dtmf', digit: '1' });
    expect(() => call.end('carrier_stop', T0 + 4000)).not.toThrow();
    const done = await recorder.done;
    await new Promise((r) => setTimeout(r, 0));
    expect(recorder.stats.writeErrors).toBe(n + 1);
    expect(recorder.stats.backpressuredWrites).toBe(4);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SwitchboardError);
    expect(errors[0]!.code).toBe('recording_failed');
    expect(done.durationMs).toBe(4000);
  });

  it('stops on demand while the call goes on, and records an empty WAV for a call already over', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call);
    for (let k = 0; k < 50; k++) call.caller(l16(1), T0 + 20 * (k + 1));
    call.agent(l16(-1, 2000), T0 + 1000);
    recorder.stop();
    const done = await recorder.done;
    expect(done.reason).toBe('stopped');
    // What the caller would still hear after the stop is not "cut": it was just not recorded.
    expect(done.stats.cutMs).toBe(0);
    expect(done.durationMs).toBe(1000);
    call.caller(l16(1), T0 + 2000);
    expect(sink.bytes).toBe(44 + 1000 * 32);
    expect(call.observers).toHaveLength(0);

    const over = new FakeCall();
    over.endReason = 'carrier_stop';
    const late = record(over);
    const empty = await late.recorder.done;
    expect(empty).toMatchObject({ reason: 'carrier_stop', sampleRate: 8000, durationMs: 0 });
    expect(late.sink.bytes).toBe(44);
    expect(new DataView(empty.header.buffer).getUint32(40, true)).toBe(0);
  });

  it('places by the media when the clock it was given is not the transport clock, and survives a rate no WAV has', async () => {
    const call = new FakeCall();
    const { sink, recorder } = record(call, { now: () => Date.now() });
    const odd: AudioFormat = { encoding: 'l16', sampleRate: 3, channels: 1 };
    call.caller(new Uint8Array(6), T0 + 10, odd);
    for (let k = 0; k < 50; k++) call.caller(l16(1), T0 + 20 * (k + 1));
    call.end('carrier_stop', T0 + 1000);
    const done = await recorder.done;
    // A second of audio at a rate of its own (16 kHz), not an age of silence up to the wall clock.
    expect(done.sampleRate).toBe(16_000);
    expect(done.durationMs).toBeLessThan(1100);
    expect(sink.bytes).toBeLessThan(44 + 1100 * 64);
    expect(done.stats.droppedMs).toBe(0);
  });

  it('refuses options it cannot use', () => {
    const call = new FakeCall();
    expect(() => new CallAudioRecorder(call.transport, {} as CallAudioRecorderOptions)).toThrow(/sink/);
    const sink = new MemorySink();
    expect(() => new CallAudioRecorder(call.transport, { sink, sampleRate: 100 })).toThrow(/sampleRate/);
    expect(() => new CallAudioRecorder(call.transport, { sink, maxHeldMs: 10 })).toThrow(/maxHeldMs/);
  });
});
