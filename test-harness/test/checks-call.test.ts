import { describe, expect, it } from 'vitest';
import {
  CHECKS,
  DEFAULT_CHECK_OPTIONS,
  INJECTED_ITEM,
  type CarrierChunk,
  type RecordedEmit,
  type ReplayResult,
} from '@switchboard/conformance';
import { withoutInjected } from '../src/call-features.js';
import type { AttributionStep } from '../src/attribution.js';
import { attributeAgain } from '../src/attribution.js';

// The call-feature checks on small hand-made replays, in μ-law at 8 kHz (8 bytes per ms).

const BYTES_PER_MS = 8;
const audio = (ms: number, offset = 0) => Uint8Array.from({ length: ms * BYTES_PER_MS }, (_, i) => (offset + i) % 251);

function chunksOf(itemId: string, bytes: Uint8Array, playAt: number): CarrierChunk[] {
  const chunks: CarrierChunk[] = [];
  const ms = bytes.byteLength / BYTES_PER_MS;
  for (let at = 0; at < ms; at += 20) {
    const n = Math.min(20, ms - at);
    chunks.push({
      receivedAt: playAt + at,
      startAt: playAt + at,
      durationMs: n,
      bytes: bytes.slice(at * BYTES_PER_MS, (at + n) * BYTES_PER_MS),
      itemId,
    });
  }
  return chunks;
}

type Call = {
  hazards: string[];
  responses: Array<Record<string, unknown>>;
  outputAudio: Array<{ responseId: string; itemId: string; bytes: Uint8Array }>;
  chunks: CarrierChunk[];
  timeline: ReplayResult['timeline'];
  emitted: RecordedEmit[];
  bridgeEnded?: { at: number; by: 'hangup' | 'close' };
  endedAt?: number;
  truncations?: unknown[];
};

function replay(c: Call): ReplayResult {
  return {
    adapter: 'hand-made',
    capabilities: { playbackAck: 'mark', ackOnClear: 'echo-pending', clear: true, dtmfIn: true, dtmfOut: false },
    trace: { header: { name: 'hand-made', description: '', source: '', hazards: c.hazards, expect: {} }, frames: [] },
    carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    carriesStreamId: true,
    speed: 5,
    emitted: c.emitted,
    model: {
      outputFormat: { type: 'audio/pcmu' },
      outputAudio: c.outputAudio.map((a) => ({ at: 0, ...a })),
      responses: c.responses,
      truncations: c.truncations ?? [],
    },
    timeline: c.timeline,
    carrier: {
      chunks: c.chunks,
      clears: [],
      marksSent: 0,
      acksSent: 0,
      rejected: [],
      otherCommands: [],
      maxQueuedMs: 0,
      endedAt: c.endedAt,
      closedAt: c.bridgeEnded?.at ?? c.endedAt,
      bridgeEnded: c.bridgeEnded,
      framesSent: 0,
      malformedSent: 0,
    },
    transportFeatures: { playAudio: true, endAfterPlayback: true },
  } as unknown as ReplayResult;
}

const check = (id: string, result: ReplayResult) => CHECKS.find((c) => c.id === id)!.run(result, DEFAULT_CHECK_OPTIONS);

/** A goodbye of 3 s played from 2000 ms; the call ended with `reason`, the bridge's end seen at `endAt`. */
function goodbye(options: { gotMs?: number; endAt?: number; reason?: string; callerHungUp?: boolean } = {}) {
  const bytes = audio(3000);
  const got = bytes.subarray(0, (options.gotMs ?? 3000) * BYTES_PER_MS);
  const endAt = options.endAt ?? 5010;
  return replay({
    hazards: ['agent-hangup'],
    responses: [{ id: 'r1', itemId: 'i1', kind: 'audio', status: 'completed', call: { name: 'end_call' } }],
    outputAudio: [{ responseId: 'r1', itemId: 'i1', bytes }],
    chunks: chunksOf('i1', got, 2000),
    timeline: [
      { at: 1900, type: 'response.created', responseId: 'r1' },
      { at: 2500, type: 'response.done', responseId: 'r1', status: 'completed' },
    ],
    emitted: [
      { at: endAt - 5, name: 'call_end', args: [{ type: 'call_end', reason: options.reason ?? 'agent_hangup' }] },
    ],
    ...(options.callerHungUp ? { endedAt: 12_000 } : { bridgeEnded: { at: endAt, by: 'close' } }),
  });
}

describe('hangup.after_playback', () => {
  it('passes a hang-up once the caller heard the whole goodbye', () => {
    const outcome = check('hangup.after_playback', goodbye());
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(
      /goodbye of 3000 ms heard by 5000 ms; the bridge ended the call \(close\) 10 ms later/,
    );
  });

  it('fails a hang-up while the goodbye was still playing', () => {
    expect(check('hangup.after_playback', goodbye({ endAt: 4000 }))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/1000 ms before the caller had heard the goodbye to its end/),
    });
  });

  it('fails a goodbye the carrier got only part of', () => {
    expect(check('hangup.after_playback', goodbye({ gotMs: 2000, endAt: 4010 }))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/the carrier got 2000 of the 3000 ms of the goodbye/),
    });
  });

  it('fails a call the bridge never ended, and one that ended for another reason', () => {
    expect(check('hangup.after_playback', goodbye({ callerHungUp: true }))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/the bridge never ended the call/),
    });
    expect(check('hangup.after_playback', goodbye({ reason: 'carrier_closed' }))).toMatchObject({
      status: 'fail',
      detail: 'the call ended with reason carrier_closed, not agent_hangup',
    });
  });

  it('is n/a on a trace where the agent does not hang up', () => {
    const result = goodbye();
    result.trace.header.hazards = [];
    expect(check('hangup.after_playback', result).status).toBe('n/a');
  });
});

/** A tool call done at 3000 ms, 2 s of filler from 3300 ms, the answer (1 s) created at 7000 ms. */
function slowTool(options: { truncate?: boolean; filler?: boolean } = {}) {
  const answer = audio(1000, 3);
  const filler = options.filler === false ? [] : chunksOf(INJECTED_ITEM, audio(2000, 5), 3300);
  return replay({
    hazards: ['slow-tool'],
    responses: [
      { id: 'r1', itemId: 'c1', kind: 'function_call', status: 'completed', createdAt: 2900 },
      { id: 'r2', itemId: 'i2', kind: 'audio', status: 'completed', createdAt: 7000 },
    ],
    outputAudio: [{ responseId: 'r2', itemId: 'i2', bytes: answer }],
    chunks: [...filler, ...chunksOf('i2', answer, 7100)],
    timeline: [
      { at: 2900, type: 'response.created', responseId: 'r1' },
      { at: 3000, type: 'response.done', responseId: 'r1', status: 'completed' },
      { at: 7000, type: 'response.created', responseId: 'r2' },
      { at: 7300, type: 'response.done', responseId: 'r2', status: 'completed' },
      ...(options.truncate
        ? [{ at: 7500, type: 'client:conversation.item.truncate', itemId: 'i2', audioEndMs: 400 }]
        : []),
    ],
    emitted: [
      {
        at: 3000,
        name: 'function_call',
        args: [{ type: 'function_call', name: 'forecast', callId: 'x', arguments: '{}' }],
      },
      { at: 3300, name: 'injected_audio', args: [{ type: 'injected_audio', id: 'a1', phase: 'start' }] },
      {
        at: 7050,
        name: 'injected_audio',
        args: [{ type: 'injected_audio', id: 'a1', phase: 'end', sentMs: 2000, playedMs: 2000, reason: 'stopped' }],
      },
    ],
    endedAt: 12_000,
  });
}

describe('audio.injected', () => {
  it('passes filler heard while the tool ran, with the answer complete after it', () => {
    const outcome = check('audio.injected', slowTool());
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(/^2000 ms of injected audio heard \(100 chunks, ended: stopped\)/);
  });

  it('fails when no injected audio reached the caller', () => {
    expect(check('audio.injected', slowTool({ filler: false }))).toMatchObject({
      status: 'fail',
      detail: 'no injected audio reached the caller',
    });
  });

  it('fails a model item truncated with no barge-in', () => {
    expect(check('audio.injected', slowTool({ truncate: true }))).toMatchObject({
      status: 'fail',
      detail: 'item i2 was truncated at 400 ms with no barge-in',
    });
  });
});

describe('injected audio in the attribution', () => {
  it("gives no model item the filler's chunks, and lets the clear that stopped the filler cut no model item", () => {
    // The filler (3 chunks), its clear, then the answer (2 chunks): the bridge sent the clear after
    // the model's first delta had come, which a barge-in's clear would cut.
    const steps: AttributionStep[] = [
      { step: 'plays', ms: 20, sentAt: 100 },
      { step: 'plays', ms: 20, sentAt: 120 },
      { step: 'plays', ms: 20, sentAt: 140 },
      { step: 'sent', itemId: 'answer', ms: 40, at: 150 },
      { step: 'clear', sentAt: 160 },
      { step: 'plays', ms: 20, sentAt: 170 },
      { step: 'plays', ms: 20, sentAt: 190 },
    ];
    const injected = [true, true, true, false, false];
    const emitted: RecordedEmit[] = [
      { at: 90, name: 'injected_audio', args: [{ type: 'injected_audio', id: 'a', phase: 'start' }] },
      { at: 158, name: 'injected_audio', args: [{ type: 'injected_audio', id: 'a', phase: 'end', reason: 'yielded' }] },
    ];
    const kept = withoutInjected(steps, injected, emitted, [], () => undefined);
    expect(kept.chunks).toEqual([3, 4]);
    expect(attributeAgain(kept.steps)).toEqual(['answer', 'answer']);
    // Without the filler's end, the clear is a barge-in's: it cuts the answer begun before it.
    const asBargeIn = withoutInjected(steps, injected, emitted.slice(0, 1), [], () => undefined);
    expect(attributeAgain(asBargeIn.steps)).toEqual([undefined, undefined]);
  });
});
