import { describe, expect, it } from 'vitest';
import {
  CHECKS,
  DEFAULT_CHECK_OPTIONS,
  retrySpeed,
  type CarrierChunk,
  type ReplayResult,
} from '@switchboard/conformance';

// The checks on small hand-made replays: what the carrier got, what the model sent, and when the
// caller hung up, in μ-law at 8 kHz (8 bytes per ms) so that audio compares byte for byte.

const BYTES_PER_MS = 8;
const audio = (ms: number, offset = 0) => Uint8Array.from({ length: ms * BYTES_PER_MS }, (_, i) => (offset + i) % 251);

type Scenario = {
  /** What the model sent for item `i1` of response `r1`, ms, and how the response ended. */
  sentMs: number;
  status?: 'completed' | 'cancelled';
  cancelReason?: 'client_cancelled';
  /** When the model finished the response (stream ms). */
  doneAt?: number;
  /** What the carrier got of it, ms, played from `playAt` in 20 ms chunks. */
  gotMs: number;
  playAt: number;
  /** When the caller ended the call. */
  endedAt: number;
  truncateAt?: number;
  /** A clear the carrier got at `at`, when the caller had heard `heardMs` of the item. */
  clear?: { at: number; heardMs: number };
};

function replay(s: Scenario): ReplayResult {
  const bytes = audio(s.sentMs);
  const chunks: CarrierChunk[] = [];
  for (let at = 0; at < s.gotMs; at += 20) {
    const ms = Math.min(20, s.gotMs - at);
    chunks.push({
      receivedAt: s.playAt + at,
      startAt: s.playAt + at,
      durationMs: ms,
      bytes: bytes.slice(at * BYTES_PER_MS, (at + ms) * BYTES_PER_MS),
      itemId: 'i1',
    });
  }
  const truncations =
    s.truncateAt === undefined
      ? []
      : [{ itemId: 'i1', contentIndex: 0, audioEndMs: s.truncateAt, at: 0, accepted: true, audioMsSent: s.sentMs }];
  return {
    adapter: 'hand-made',
    capabilities: { playbackAck: 'mark', ackOnClear: 'echo-pending', clear: true, dtmfIn: true, dtmfOut: false },
    trace: { header: { name: 'hand-made', description: '', source: '', hazards: [], expect: {} }, frames: [] },
    carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    carriesStreamId: true,
    speed: 5,
    emitted: [],
    model: {
      outputFormat: { type: 'audio/pcmu' },
      outputAudio: [{ at: 0, responseId: 'r1', itemId: 'i1', bytes }],
      responses: [
        { id: 'r1', itemId: 'i1', kind: 'audio', status: s.status ?? 'completed', cancelReason: s.cancelReason },
      ],
      truncations,
    },
    timeline: [
      { at: s.playAt - 100, type: 'response.created', responseId: 'r1' },
      { at: s.doneAt ?? s.playAt, type: 'response.done', responseId: 'r1', status: s.status ?? 'completed' },
      ...(s.truncateAt === undefined
        ? []
        : [
            {
              at: s.playAt + s.gotMs,
              type: 'client:conversation.item.truncate',
              itemId: 'i1',
              audioEndMs: s.truncateAt,
            },
          ]),
    ],
    carrier: {
      chunks,
      clears: s.clear
        ? [{ at: s.clear.at, sentAt: s.clear.at, playedByItem: { i1: s.clear.heardMs }, discardedMs: 0 }]
        : [],
      marksSent: 0,
      acksSent: 0,
      rejected: [],
      otherCommands: [],
      maxQueuedMs: 0,
      endedAt: s.endedAt,
      closedAt: s.endedAt,
      framesSent: 0,
      malformedSent: 0,
    },
  } as unknown as ReplayResult;
}

const check = (id: string, result: ReplayResult) => CHECKS.find((c) => c.id === id)!.run(result, DEFAULT_CHECK_OPTIONS);

describe('output.lossless and the end of the call', () => {
  it('excuses what the caller hung up on while the reply was still playing', () => {
    // A paced bridge held the second half of a 2 s reply; the caller hung up 1 s into it.
    const outcome = check(
      'output.lossless',
      replay({ sentMs: 2000, gotMs: 1200, playAt: 4000, doneAt: 4000, endedAt: 5000 }),
    );
    expect(outcome).toMatchObject({ status: 'pass' });
    expect(outcome.detail).toMatch(/1 cut short by the end of the call/);
  });

  it('excuses a reply the model was still sending when the caller hung up', () => {
    const outcome = check(
      'output.lossless',
      replay({ sentMs: 2000, gotMs: 1800, playAt: 3000, doneAt: 5200, endedAt: 5100 }),
    );
    expect(outcome.status).toBe('pass');
  });

  it('fails a reply whose audio stopped coming while the call went on', () => {
    // The caller heard 1.2 s, then silence for seconds, and the model had long finished.
    const outcome = check(
      'output.lossless',
      replay({ sentMs: 2000, gotMs: 1200, playAt: 4000, doneAt: 4000, endedAt: 9000 }),
    );
    expect(outcome).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^item i1: model sent 16000 bytes, carrier got 9600( \(its response .*\))?$/),
    });
  });

  it('still fails audio that differs from the model’s, whenever the call ended', () => {
    const result = replay({ sentMs: 2000, gotMs: 1200, playAt: 4000, doneAt: 4000, endedAt: 5000 });
    result.carrier.chunks[3]!.bytes = audio(20, 7);
    expect(check('output.lossless', result)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/audio differs at byte 480/),
    });
  });
});

describe('bargein.truncate without a clear', () => {
  it('fails a cancelled reply the caller heard only in part when the model was never told', () => {
    // Nothing was left to play when the caller spoke (the reply ran late), so no clear; the bridge
    // cancelled and dropped the 200 ms still on the way, but never truncated.
    const result = replay({
      sentMs: 1500,
      status: 'cancelled',
      cancelReason: 'client_cancelled',
      gotMs: 1300,
      playAt: 1000,
      doneAt: 2400,
      endedAt: 9000,
    });
    expect(check('bargein.truncate', result)).toMatchObject({
      status: 'fail',
      detail: 'item i1: caller heard 1300 of the 1500 ms the model sent, no truncate',
    });
  });

  it('passes it truncated at what the caller heard', () => {
    const result = replay({
      sentMs: 1500,
      status: 'cancelled',
      cancelReason: 'client_cancelled',
      gotMs: 1300,
      playAt: 1000,
      doneAt: 2400,
      endedAt: 9000,
      truncateAt: 1300,
    });
    expect(check('bargein.truncate', result)).toMatchObject({
      status: 'pass',
      detail: 'max error 0.0 ms over 1 truncation(s)',
    });
    const wrong = replay({
      sentMs: 1500,
      status: 'cancelled',
      cancelReason: 'client_cancelled',
      gotMs: 1300,
      playAt: 1000,
      doneAt: 2400,
      endedAt: 9000,
      truncateAt: 1500,
    });
    expect(check('bargein.truncate', wrong)).toMatchObject({
      status: 'fail',
      detail: 'item i1: truncated at 1500 ms, caller heard 1300 ms',
    });
  });

  it('leaves alone a reply cancelled only because the call ended, and one heard in full', () => {
    const ended = replay({ sentMs: 1500, status: 'cancelled', gotMs: 1300, playAt: 1000, doneAt: 2400, endedAt: 2300 });
    expect(check('bargein.truncate', ended).status).toBe('n/a');
    const heard = replay({
      sentMs: 1300,
      status: 'cancelled',
      cancelReason: 'client_cancelled',
      gotMs: 1300,
      playAt: 1000,
      doneAt: 2400,
      endedAt: 9000,
    });
    expect(check('bargein.truncate', heard).status).toBe('n/a');
  });

  it('judges an item a clear cut against what the model sent, not what the carrier got', () => {
    // A paced bridge held the last 400 ms of a 2 s reply; the caller spoke 1.5 s into it and the
    // bridge cleared, discarding what it held, but told the model nothing.
    const result = replay({
      sentMs: 2000,
      gotMs: 1600,
      playAt: 1000,
      doneAt: 1500,
      endedAt: 9000,
      clear: { at: 2500, heardMs: 1500 },
    });
    expect(check('output.lossless', result).status).toBe('pass');
    expect(check('bargein.truncate', result)).toMatchObject({
      status: 'fail',
      detail: 'item i1: caller heard 1500 of the 2000 ms the model sent, no truncate',
    });
  });
});

describe('retrySpeed', () => {
  it('halves the speed of each replay after the first, down to real time', () => {
    expect([1, 2, 3, 4, 5].map((n) => retrySpeed(5, n))).toEqual([5, 2.5, 1.25, 1, 1]);
    // A replay at real time or slower keeps its speed.
    expect(retrySpeed(1, 3)).toBe(1);
    expect(retrySpeed(0.5, 2)).toBe(0.5);
  });
});
