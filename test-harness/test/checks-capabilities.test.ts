import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProtocolCapabilities } from '@switchboard/core';
import { CHECKS, DEFAULT_CHECK_OPTIONS, type CarrierChunk, type ReplayResult } from '@switchboard/conformance';

// Checks follow the adapter's declared capabilities: what a carrier cannot do is n/a, with the
// capability named; what can still be judged is judged.

const BYTES_PER_MS = 8;
const audio = (ms: number) => Uint8Array.from({ length: ms * BYTES_PER_MS }, (_, i) => i % 251);
const SID = 'MZ00000000000000000000000000000001';
const FULL: ProtocolCapabilities = {
  playbackAck: 'mark',
  ackOnClear: 'echo-pending',
  clear: true,
  dtmfIn: true,
  dtmfOut: false,
};

type Call = {
  capabilities?: Partial<ProtocolCapabilities>;
  dtmf?: string[];
  emittedDigits?: string[];
  /**
   * A reply of `sentMs` of which the carrier got `gotMs` from 1000 ms, the caller speaking at `speechAt`, the response
   * cancelled.
   */
  bargeIn?: { sentMs: number; gotMs: number; speechAt: number; truncateAt?: number };
};

function replay(call: Call): ReplayResult {
  const b = call.bargeIn ?? { sentMs: 1000, gotMs: 1000, speechAt: undefined };
  const bytes = audio(b.sentMs);
  const chunks: CarrierChunk[] = [];
  for (let at = 0; at < b.gotMs; at += 20) {
    chunks.push({
      receivedAt: 1000 + at / 4,
      startAt: 1000 + at,
      durationMs: 20,
      bytes: bytes.slice(at * BYTES_PER_MS, (at + 20) * BYTES_PER_MS),
      itemId: 'i1',
    });
  }
  const cancelled = call.bargeIn !== undefined;
  const truncateAt = call.bargeIn?.truncateAt;
  return {
    adapter: 'hand-made',
    capabilities: { ...FULL, ...call.capabilities },
    trace: {
      header: {
        name: 'hand-made',
        description: '',
        source: '',
        hazards: cancelled ? ['barge-in'] : [],
        expect: { dtmf: call.dtmf ?? [] },
      },
      frames: [
        {
          t: 0,
          frame: {
            event: 'start',
            streamSid: SID,
            start: {
              streamSid: SID,
              callSid: 'CA1',
              customParameters: {},
              mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
            },
          },
        },
        ...(call.dtmf ?? []).map((digit, i) => ({
          t: 100 + i * 100,
          frame: { event: 'dtmf', streamSid: SID, dtmf: { track: 'inbound_track', digit } },
        })),
      ],
    },
    carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    carriesStreamId: true,
    speed: 5,
    emitted: (call.emittedDigits ?? []).map((digit, i) => ({
      at: 2000 + i,
      name: 'dtmf',
      args: [{ type: 'dtmf', digit }],
    })),
    model: {
      outputFormat: { type: 'audio/pcmu' },
      outputAudio: [{ at: 0, responseId: 'r1', itemId: 'i1', bytes }],
      responses: [
        {
          id: 'r1',
          itemId: 'i1',
          kind: 'audio',
          status: cancelled ? 'cancelled' : 'completed',
          ...(cancelled ? { cancelReason: 'client_cancelled' } : {}),
        },
      ],
      truncations:
        truncateAt === undefined
          ? []
          : [{ itemId: 'i1', contentIndex: 0, audioEndMs: truncateAt, at: 0, accepted: true, audioMsSent: b.sentMs }],
      events: [],
      violations: [],
      cancels: [],
    },
    timeline: [
      { at: 900, type: 'response.created', responseId: 'r1' },
      ...(b.speechAt === undefined ? [] : [{ at: b.speechAt, type: 'input_audio_buffer.speech_started' }]),
      ...(truncateAt === undefined
        ? []
        : [
            {
              at: (b.speechAt ?? 0) + 20,
              type: 'client:conversation.item.truncate',
              itemId: 'i1',
              audioEndMs: truncateAt,
            },
          ]),
      {
        at: (b.speechAt ?? 900) + 30,
        type: 'response.done',
        responseId: 'r1',
        status: cancelled ? 'cancelled' : 'completed',
      },
    ],
    carrier: {
      chunks,
      clears: [],
      marksSent: 0,
      acksSent: 0,
      rejected: [],
      otherCommands: [],
      maxQueuedMs: 0,
      endedAt: 9000,
      closedAt: 9000,
      framesSent: 0,
      malformedSent: 0,
      pauses: [],
    },
    droppedAfterCancel: {},
    failures: [],
  } as unknown as ReplayResult;
}

const check = (id: string, result: ReplayResult) => CHECKS.find((c) => c.id === id)!.run(result, DEFAULT_CHECK_OPTIONS);

describe('dtmf.order follows dtmfIn', () => {
  it('is n/a, naming the capability, for an adapter whose carrier has no DTMF in', () => {
    expect(check('dtmf.order', replay({ dtmf: ['1', '2'], capabilities: { dtmfIn: false } }))).toEqual({
      status: 'n/a',
      detail: 'the adapter declares dtmfIn: false',
    });
  });

  it('is still judged for an adapter with DTMF in', () => {
    expect(check('dtmf.order', replay({ dtmf: ['1', '2'] }))).toMatchObject({
      status: 'fail',
      detail: 'expected 1 2, got none',
    });
    expect(check('dtmf.order', replay({ dtmf: ['1', '2'], emittedDigits: ['1', '2'] }))).toMatchObject({
      status: 'pass',
    });
  });
});

describe('barge-in on a carrier that cannot clear', () => {
  // The caller speaks 600 ms into a 2 s reply; the bridge had sent the carrier 1.2 s of it and
  // cancelled the rest. The carrier cannot clear: the caller hears all 1.2 s.
  const bargeIn = { sentMs: 2000, gotMs: 1200, speechAt: 1600 };

  it('makes bargein.clear n/a, naming the capability', () => {
    expect(check('bargein.clear', replay({ bargeIn, capabilities: { clear: false } }))).toEqual({
      status: 'n/a',
      detail: 'the adapter declares clear: false',
    });
    // With clear, the same call is a failure: the carrier was never cleared.
    expect(check('bargein.clear', replay({ bargeIn })).status).toBe('fail');
  });

  it('judges bargein.truncate against all the carrier played', () => {
    const right = replay({ bargeIn: { ...bargeIn, truncateAt: 1200 }, capabilities: { clear: false } });
    expect(check('bargein.truncate', right)).toMatchObject({ status: 'pass' });
    // Truncated where the caller stood when it spoke: it went on hearing what the carrier held.
    const early = replay({ bargeIn: { ...bargeIn, truncateAt: 600 }, capabilities: { clear: false } });
    expect(check('bargein.truncate', early)).toMatchObject({
      status: 'fail',
      detail: 'item i1: truncated at 600 ms, caller heard 1200 ms',
    });
    const none = replay({ bargeIn, capabilities: { clear: false } });
    expect(check('bargein.truncate', none)).toMatchObject({
      status: 'fail',
      detail: 'item i1: caller heard 1200 of the 2000 ms the model sent, no truncate',
    });
  });

  it('still judges bargein.cancel', () => {
    expect(check('bargein.cancel', replay({ bargeIn, capabilities: { clear: false } }))).toMatchObject({
      status: 'pass',
    });
  });
});

describe('every capability that makes a check n/a is named on the check', () => {
  it('lists dtmfIn, clear and pacing', () => {
    expect(Object.fromEntries(CHECKS.filter((c) => c.naWhen).map((c) => [c.id, c.naWhen]))).toEqual({
      'bargein.clear': 'clear: false',
      'dtmf.order': 'dtmfIn: false',
      'carrier.pacing': 'no pacing',
    });
  });

  it("and the README's check table says the same", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('## The checks'),
      readme.indexOf('\n## ', readme.indexOf('## The checks') + 1),
    );
    const rows = section.split('\n').filter((line) => /^\| `[a-z_]+\.[a-z_]+` \|/.test(line));
    const table = Object.fromEntries(
      rows.map((row) => {
        const cells = row.split(' | ');
        return [cells[0]!.replace(/[|` ]/g, ''), cells.at(-1)!.replace(/[|`]/g, '').trim()];
      }),
    );
    expect(table).toEqual(Object.fromEntries(CHECKS.map((c) => [c.id, c.naWhen ?? '–'])));
  });
});
