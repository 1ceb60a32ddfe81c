import { describe, expect, it } from 'vitest';
import { CHECKS, DEFAULT_CHECK_OPTIONS, type CarrierChunk, type ReplayResult } from '@switchboard/conformance';

// The barge-in checks on hand-made replays of a starved carrier: it reads the bridge's frames
// late, so what the caller hears is reckoned from when the bridge sent them.

const check = (id: string, result: ReplayResult) => CHECKS.find((c) => c.id === id)!.run(result, DEFAULT_CHECK_OPTIONS);

/**
 * A 2 s reply sent from 1000 ms on in 100 ms chunks, every chunk read by the carrier `lagMs` after
 * the bridge sent it; the bridge sent 1000 ms of it, then paced the rest (held back). The caller
 * speaks at `speechAt`; the bridge sends its clear right after, which the carrier reads late too.
 */
function starved(options: { lagMs: number; speechAt: number; sentMs?: number }): ReplayResult {
  const { lagMs, speechAt } = options;
  const sentMs = options.sentMs ?? 1000;
  const chunks: CarrierChunk[] = [];
  for (let at = 0; at < sentMs; at += 100) {
    const sentAt = 1000 + at;
    chunks.push({
      receivedAt: sentAt + lagMs,
      startAt: sentAt,
      durationMs: 100,
      bytes: new Uint8Array(800),
      itemId: 'i1',
    });
  }
  const clearSentAt = speechAt + 5;
  const heard = Math.min(sentMs, clearSentAt - 1000);
  return {
    adapter: 'hand-made',
    capabilities: { playbackAck: 'mark', ackOnClear: 'confirm', clear: true, dtmfIn: true, dtmfOut: false },
    trace: {
      header: { name: 'hand-made', description: '', source: '', hazards: ['barge-in'], expect: {} },
      frames: [],
    },
    carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    carriesStreamId: true,
    speed: 5,
    emitted: [],
    droppedAfterCancel: {},
    model: {
      outputFormat: { type: 'audio/pcmu' },
      outputAudio: [{ at: 900, responseId: 'r1', itemId: 'i1', bytes: new Uint8Array(2000 * 8) }],
      responses: [{ id: 'r1', itemId: 'i1', kind: 'audio', status: 'cancelled', cancelReason: 'client_cancelled' }],
      truncations: [
        { itemId: 'i1', contentIndex: 0, audioEndMs: heard, at: clearSentAt + 2, accepted: true, audioMsSent: 2000 },
      ],
      cancels: [{ responseId: 'r1', active: true }],
      events: [],
      violations: [],
    },
    timeline: [
      { at: 900, type: 'response.created', responseId: 'r1' },
      { at: speechAt, type: 'input_audio_buffer.speech_started' },
      { at: clearSentAt + 1, type: 'client:response.cancel', responseId: 'r1' },
      { at: clearSentAt + 2, type: 'client:conversation.item.truncate', itemId: 'i1', audioEndMs: heard },
      { at: clearSentAt + 3, type: 'response.done', responseId: 'r1', status: 'cancelled' },
    ],
    carrier: {
      chunks,
      clears: [{ at: clearSentAt + lagMs, sentAt: clearSentAt, playedByItem: { i1: heard }, discardedMs: 0 }],
      marksSent: 0,
      acksSent: 0,
      rejected: [],
      otherCommands: [],
      maxQueuedMs: 0,
      endedAt: 9000,
      closedAt: 9000,
      framesSent: 0,
      malformedSent: 0,
    },
  } as unknown as ReplayResult;
}

describe('barge-in checks on a carrier that reads late', () => {
  it('count a barge-in over audio the bridge had sent, however late the carrier read it', () => {
    // The caller speaks 600 ms into the reply; the carrier, 800 ms behind, has read none of it yet.
    const result = starved({ lagMs: 800, speechAt: 1600 });
    for (const id of ['bargein.clear', 'bargein.cancel', 'bargein.truncate']) {
      const outcome = check(id, result);
      expect(outcome.status, `${id}: ${outcome.detail}`).toBe('pass');
    }
  });

  it('count a barge-in over audio the carrier got but, by when it was sent, has played out', () => {
    // Pacing held the reply back (the bridge had sent 400 ms): by the time the bridge sent them
    // those chunks have played when the caller speaks, but the carrier read them only just now.
    const result = starved({ lagMs: 500, speechAt: 1450, sentMs: 400 });
    expect(check('bargein.clear', result).status).toBe('pass');
  });

  it('judge the clear by when the bridge sent it, not when the starved carrier read it', () => {
    const outcome = check('bargein.clear', starved({ lagMs: 2000, speechAt: 1600 }));
    expect(outcome.status, outcome.detail).toBe('pass');
  });

  it('still find no barge-in when the caller spoke after the reply had played out', () => {
    const result = starved({ lagMs: 50, speechAt: 2500 });
    expect(check('bargein.clear', result)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/never spoke over queued audio/),
    });
  });
});

describe('barge-in checks on a carrier that read late and acknowledged at once', () => {
  it('count no barge-in over audio in flight that the bridge did not clear', () => {
    // The carrier read the last chunks after the caller spoke, but acknowledged them before the
    // bridge heard of the speech: the bridge rightly saw nothing playing.
    const result = starved({ lagMs: 500, speechAt: 1450, sentMs: 400 });
    const noClear = { ...result, carrier: { ...result.carrier, clears: [] } } as ReplayResult;
    expect(check('bargein.clear', noClear)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/never spoke over queued audio/),
    });
  });
});

describe('barge-in checks on a starved bridge', () => {
  it('count no barge-in over audio the carrier read late and the bridge did not clear, however it played', () => {
    // The caller spoke 600 ms into the reply, by when the bridge sent it; the carrier read it
    // late, and the bridge, told of the speech late too, found it played by its own clock.
    const result = starved({ lagMs: 800, speechAt: 1600 });
    const noClear = { ...result, carrier: { ...result.carrier, clears: [] } } as ReplayResult;
    expect(check('bargein.clear', noClear)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/never spoke over queued audio/),
    });
  });
});

describe('bargein.truncate tolerance', () => {
  /** The same barge-in, its truncate `offMs` away from what the caller heard when the bridge sent the clear. */
  function truncatedOff(offMs: number): ReplayResult {
    const result = starved({ lagMs: 30, speechAt: 1600 });
    const move = <T extends { audioEndMs?: number }>(e: T): T =>
      e.audioEndMs === undefined ? e : { ...e, audioEndMs: e.audioEndMs + offMs };
    return {
      ...result,
      model: { ...result.model!, truncations: result.model!.truncations.map(move) },
      timeline: result.timeline.map(move),
    } as unknown as ReplayResult;
  }

  it('is 20 ms either way of what the caller heard when the bridge sent the clear', () => {
    expect(DEFAULT_CHECK_OPTIONS.truncateToleranceMs).toBe(20);
    for (const off of [-19, 0, 19]) expect(check('bargein.truncate', truncatedOff(off)).status).toBe('pass');
    for (const off of [-21, 21])
      expect(check('bargein.truncate', truncatedOff(off))).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^item i1: truncated at \d+ ms, caller heard 605 ms$/),
      });
  });
});

describe('bargein.truncate on a carrier whose acknowledgements reach the bridge late', () => {
  /**
   * The barge-in of `starved`, with a mark after each chunk, each acknowledged `ackLateMs` after its
   * chunk ended (the bridge tells when it received each), and the truncate `offMs` from what the
   * caller heard when the bridge sent the clear.
   */
  function lateAcks(ackLateMs: number, offMs: number, options: { bridgeTells?: boolean } = {}): ReplayResult {
    const result = starved({ lagMs: 30, speechAt: 1600 });
    const marks = result.carrier.chunks.map((_, i) => ({ at: 1000 + i * 100 + 30, name: `m${i}`, chunkCount: i + 1 }));
    const acks = result.carrier.chunks.map((c, i) => {
      const end = c.startAt + c.durationMs;
      // Without the bridge's word, the carrier's own send time is all there is: the lateness is its own.
      return options.bridgeTells === false
        ? { at: end + ackLateMs, name: `m${i}`, frame: i }
        : { at: end + 1, name: `m${i}`, frame: i, receivedAt: end + ackLateMs };
    });
    const move = <T extends { audioEndMs?: number }>(e: T): T =>
      e.audioEndMs === undefined ? e : { ...e, audioEndMs: e.audioEndMs + offMs };
    return {
      ...result,
      carrier: { ...result.carrier, marks, acks, marksSent: marks.length, acksSent: acks.length },
      model: { ...result.model!, truncations: result.model!.truncations.map(move) },
      timeline: result.timeline.map(move),
    } as unknown as ReplayResult;
  }

  it('allows a truncate short of what was heard by as much as the acknowledgements came late, and no more', () => {
    // The bridge could know of the playback only 80 ms late: a truncate 90 ms short is 10 ms off.
    expect(check('bargein.truncate', lateAcks(80, -90))).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/max error 10\.0 ms .* up to 80 ms late/),
    });
    expect(check('bargein.truncate', lateAcks(80, -90, { bridgeTells: false })).status).toBe('pass');
    expect(check('bargein.truncate', lateAcks(80, -101))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/truncated at \d+ ms, caller heard 605 ms \(.*up to 80 ms late\)$/),
    });
    // Acknowledgements on time leave the 20 ms of the tolerance alone.
    expect(check('bargein.truncate', lateAcks(2, -30)).status).toBe('fail');
  });

  it('never allows a truncate beyond what was heard', () => {
    expect(check('bargein.truncate', lateAcks(500, 21)).status).toBe('fail');
  });

  it('looks only at acknowledgements the bridge had received when it sent the clear', () => {
    // Late acknowledgements that came after the clear (1605 ms) tell nothing the bridge could know.
    const result = lateAcks(2, -60);
    const acks = result.carrier.acks.map((a) => ({
      ...a,
      receivedAt: (a.receivedAt ?? a.at) + (a.at > 1500 ? 300 : 0),
    }));
    const late = { ...result, carrier: { ...result.carrier, acks } } as ReplayResult;
    expect(check('bargein.truncate', late).status).toBe('fail');
  });
});

describe('bargein.clear on a bridge whose clock counts whole milliseconds', () => {
  /** The barge-in, with the bridge's clear stamped `offMs` (stream ms) after the speech. */
  function clearStamped(offMs: number): ReplayResult {
    const result = starved({ lagMs: 0, speechAt: 1600 });
    const clear = { ...result.carrier.clears[0]!, sentAt: 1600 + offMs };
    return { ...result, carrier: { ...result.carrier, clears: [clear] } } as ReplayResult;
  }

  it('takes a clear stamped up to a real millisecond before the speech for its clear', () => {
    // At 5× a real millisecond is 5 stream ms.
    expect(check('bargein.clear', clearStamped(-4)).status).toBe('pass');
    expect(check('bargein.clear', clearStamped(-6))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/the carrier never got a clear/),
    });
  });
});

describe('bargein.truncate at a second start', () => {
  /**
   * 700 ms of the reply sent (from 1000 ms on, read 200 ms late) when the bridge took a second
   * start at 1650 ms: the old stream's playout ends there, 650 ms into the reply. The bridge
   * cancelled the reply and truncated it at `audioEndMs`, with no clear (the stream was gone).
   */
  function secondStart(audioEndMs: number): ReplayResult {
    const result = starved({ lagMs: 200, speechAt: 1600, sentMs: 700 });
    const truncation = { ...result.model!.truncations[0]!, audioEndMs, at: 1660 };
    return {
      ...result,
      trace: { ...result.trace, header: { ...result.trace.header, hazards: ['second-start'] } },
      emitted: [
        { at: 0, name: 'call_start', args: [] },
        { at: 1650, name: 'call_start', args: [] },
      ],
      model: { ...result.model!, truncations: [truncation] },
      timeline: [
        { at: 900, type: 'response.created', responseId: 'r1' },
        { at: 1655, type: 'client:response.cancel', responseId: 'r1' },
        { at: 1660, type: 'client:conversation.item.truncate', itemId: 'i1', audioEndMs },
        { at: 1665, type: 'response.done', responseId: 'r1', status: 'cancelled' },
      ],
      carrier: { ...result.carrier, clears: [] },
    } as unknown as ReplayResult;
  }

  it('is judged at what the caller had heard when the bridge took the new start', () => {
    expect(check('bargein.truncate', secondStart(650)).status).toBe('pass');
    expect(check('bargein.truncate', secondStart(640)).status).toBe('pass');
  });

  it('does not count the old stream audio still queued then as heard', () => {
    expect(check('bargein.truncate', secondStart(700))).toEqual({
      status: 'fail',
      detail: 'item i1: truncated at 700 ms, caller heard 650 ms',
    });
  });
});
