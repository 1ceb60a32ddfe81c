import { describe, expect, it } from 'vitest';
import { base64Encode, silence } from '@switchboard/core';
import { CHECKS, DEFAULT_CHECK_OPTIONS, type CallerPause, type ReplayResult } from '@switchboard/conformance';

// input.lossless on hand-made replays in μ-law at 8 kHz (passed through to the model, so audio
// compares byte for byte): what the transport did by design to the caller's audio is accepted only
// where the replay shows its condition held.

const FRAME_MS = 20;
const FRAME_BYTES = 160;
const SPEED = 5;
const MULAW = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;

/** The caller's `n`-th frame: speech-like bytes, never μ-law silence. */
const frame = (n: number) => Uint8Array.from({ length: FRAME_BYTES }, (_, i) => 0x10 + ((n * 7 + i) % 0x60));
const pad = (ms = 1000) => silence(MULAW, ms);

type Scenario = {
  frames: number;
  /** What the model received, in order: frame numbers, or a padding of `ms`. */
  appends: Array<number | { pad: number }>;
  metrics?: Record<string, number>;
  pauses?: CallerPause[];
  /** When the caller sent its last frame and when the call ended (stream ms). */
  lastMediaAt?: number;
  callEndedAt?: number;
  firstModelAudioAt?: number;
};

function replay(s: Scenario): ReplayResult {
  const traceFrames = Array.from({ length: s.frames }, (_, n) => ({
    t: n * FRAME_MS,
    frame: {
      event: 'media',
      media: { payload: base64Encode(frame(n)), timestamp: String(n * FRAME_MS), chunk: String(n + 1) },
    },
  }));
  const lastMediaAt = s.lastMediaAt ?? s.frames * FRAME_MS;
  return {
    adapter: 'hand-made',
    capabilities: { playbackAck: 'mark', ackOnClear: 'echo-pending', clear: true, dtmfIn: true, dtmfOut: false },
    trace: { header: { name: 'hand-made', description: '', source: '', hazards: [], expect: {} }, frames: traceFrames },
    carrierFormat: MULAW,
    carriesStreamId: true,
    speed: SPEED,
    emitted: [],
    model: {
      inputFormat: { type: 'audio/pcmu' },
      inputAudio: s.appends.map((a) => (typeof a === 'number' ? frame(a) : pad(a.pad))),
    },
    timeline: [],
    firstModelAudioAt: s.firstModelAudioAt ?? 100,
    callEndedAt: s.callEndedAt ?? lastMediaAt + 50,
    carrier: {
      chunks: [],
      clears: [],
      pauses: s.pauses ?? [],
      maxBehindMs: 0,
      lastMedia: { at: lastMediaAt, audioMs: s.frames * FRAME_MS },
    },
    metrics: { inactivityPaddedMs: 0, earlyMediaBytes: 0, earlyMediaDroppedBytes: 0, ...s.metrics },
  } as unknown as ReplayResult;
}

const inputLossless = (result: ReplayResult) =>
  CHECKS.find((c) => c.id === 'input.lossless')!.run(result, DEFAULT_CHECK_OPTIONS);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('input.lossless and inactivity padding', () => {
  it('passes the caller’s audio as it came', () => {
    expect(inputLossless(replay({ frames: 100, appends: range(0, 100) })).status).toBe('pass');
  });

  it('accepts padding where the caller’s audio really stopped for the inactivity limit', () => {
    // The caller's sending stalled for 900 ms real after 1 s of audio; the bridge padded there.
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 50), { pad: 1000 }, ...range(50, 100)],
        metrics: { inactivityPaddedMs: 1000 },
        pauses: [{ at: 5500, realMs: 900, audioMs: 1000, behindMs: 4500 }],
      }),
    );
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(
      /1000 ms of inactivity padding at 1000 ms of the call's audio, where the caller's audio stopped for 900 ms real/,
    );
  });

  it('fails padding where the caller’s audio kept coming', () => {
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 50), { pad: 1000 }, ...range(50, 100)],
        metrics: { inactivityPaddedMs: 1000 },
        pauses: [{ at: 5500, realMs: 300, audioMs: 1000, behindMs: 1500 }],
      }),
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toMatch(/expected 16000 bytes, model got 24000/);
    expect(outcome.detail).toMatch(
      /padding at 1000 ms of the call's audio, where the caller's audio kept coming \(its longest pause there: 300 ms real\)/,
    );
  });

  it('fails padding away from where the caller paused', () => {
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 20), { pad: 1000 }, ...range(20, 100)],
        metrics: { inactivityPaddedMs: 1000 },
        pauses: [{ at: 5500, realMs: 900, audioMs: 1000, behindMs: 4500 }],
      }),
    );
    expect(outcome.status).toBe('fail');
  });

  it('fails silence the transport does not report as inactivity padding', () => {
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 50), { pad: 1000 }, ...range(50, 100)],
        pauses: [{ at: 5500, realMs: 900, audioMs: 1000, behindMs: 4500 }],
      }),
    );
    expect(outcome.status).toBe('fail');
  });

  it('accepts padding after the caller’s last frame while the call was ending', () => {
    // The caller sent its last frame at 2000 ms; the call ended 1.2 s (real) later.
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 100), { pad: 1000 }],
        metrics: { inactivityPaddedMs: 1000 },
        lastMediaAt: 2000,
        callEndedAt: 2000 + 1200 * SPEED,
      }),
    );
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(/where the caller's audio had ended for 1200 ms real/);
  });

  it('fails padding after the last frame of a call that ended at once', () => {
    const outcome = inputLossless(
      replay({
        frames: 100,
        appends: [...range(0, 100), { pad: 1000 }],
        metrics: { inactivityPaddedMs: 1000 },
        lastMediaAt: 2000,
        callEndedAt: 2000 + 100 * SPEED,
      }),
    );
    expect(outcome.status).toBe('fail');
  });
});

describe('input.lossless and early media', () => {
  // 600 frames (12 s): the model connected after 11.6 s of it; the transport kept 10 s and dropped the oldest 1.6 s.
  const dropped = (kept: number) => ({ earlyMediaBytes: (1600 + kept) * 8, earlyMediaDroppedBytes: 1600 * 8 });

  it('accepts early media dropped oldest first beyond the 10 s kept while the model connected', () => {
    const outcome = inputLossless(
      replay({ frames: 600, appends: range(80, 600), metrics: dropped(10_000), firstModelAudioAt: 11_700 }),
    );
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(/1600 ms of early media dropped beyond the 10000 ms kept/);
  });

  it('fails a transport that keeps less than 10 s of early media', () => {
    const outcome = inputLossless(
      replay({ frames: 600, appends: range(80, 600), metrics: dropped(2000), firstModelAudioAt: 3700 }),
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toMatch(/only 2000 ms were kept/);
  });

  it('fails early media dropped from anywhere but the start', () => {
    const outcome = inputLossless(
      replay({
        frames: 600,
        appends: [...range(0, 100), ...range(180, 600)],
        metrics: dropped(10_000),
        firstModelAudioAt: 11_700,
      }),
    );
    expect(outcome.status).toBe('fail');
  });

  it('fails more dropped than came before the model took audio', () => {
    const outcome = inputLossless(
      replay({ frames: 600, appends: range(80, 600), metrics: dropped(10_000), firstModelAudioAt: 5000 }),
    );
    expect(outcome.status).toBe('fail');
  });
});

describe('input.lossless when the bridge ended the call', () => {
  /** 200 frames sent 20 ms apart; the bridge ended the call at 3000 ms, seen by the caller at `seenAt`. */
  function endedByBridge(appends: number[], metrics: Record<string, number> = {}, sent = 200): ReplayResult {
    const result = replay({ frames: 200, appends, metrics, callEndedAt: 3000 });
    result.carrier.bridgeEnded = { at: 3010, by: 'close' };
    result.carrier.traceFramesSent = result.trace.frames.slice(0, sent).map((f) => ({ at: f.t, frame: f.frame }));
    return result;
  }

  it('expects only the frames the caller sent, less the last second before the end', () => {
    // 160 frames went out (up to 3180 ms); the model got the first 110 (to 2200 ms, within 1 s of the end).
    const outcome = inputLossless(endedByBridge(range(0, 110), {}, 160));
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toMatch(
      /the bridge ended the call: 1000 ms the caller sent at the end did not reach the model/,
    );
  });

  it('fails audio missing from before the last second, and audio that differs', () => {
    expect(inputLossless(endedByBridge(range(0, 90), {}, 160)).status).toBe('fail');
    expect(inputLossless(endedByBridge([...range(0, 50), ...range(51, 112)], {}, 160)).status).toBe('fail');
  });

  it('expects less where the bridge had got less of the caller’s audio by the end (a busy machine)', () => {
    // The bridge got 1.9 s of it before it ended (audioBytesIn); the model got all but 200 ms of that.
    const got = { audioBytesIn: 95 * FRAME_BYTES };
    expect(inputLossless(endedByBridge(range(0, 85), got, 160)).status).toBe('pass');
    expect(inputLossless(endedByBridge(range(0, 75), got, 160)).status).toBe('fail');
  });
});
