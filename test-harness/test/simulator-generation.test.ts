/**
 * The simulated model's audio keeps its generation speed when its timers fire late (a busy
 * machine): every delta due by the time a timer runs goes out then, so the reply as a whole never
 * comes slower than `generationSpeed` allows. Time is the test's own: no wall clock, no waiting.
 */
import { describe, expect, it } from 'vitest';
import { Conversation } from '../src/simulator/conversation.js';
import { ResponseGenerator, type ResponseHost } from '../src/simulator/responses.js';
import type { SimulatedResponse, SimulatorOutputChunk } from '../src/simulator/types.js';
import { DEFAULT_VAD_OPTIONS } from '../src/simulator/vad.js';

/** One second of audio at 24 kHz: ten 100 ms deltas. */
const REPLY_SAMPLES = 24_000;

type PendingTimer = { fn: () => void; dueAt: number };

/** A response generator on a hand-driven clock: `runTimerAt(t)` fires the pending timer at `t`, however late. */
function rig(options: { speed?: number } = {}) {
  let now = 0;
  const timers = new Set<PendingTimer>();
  const sent: Array<{ at: number; type: string }> = [];
  const outputAudio: SimulatorOutputChunk[] = [];
  const responses: SimulatedResponse[] = [];
  let ids = 0;
  const host: ResponseHost = {
    settings: {
      script: [
        { kind: 'audio', transcript: 'one two three four five', audio: new Int16Array(REPLY_SAMPLES).fill(900) },
      ],
      speed: options.speed ?? 1,
      generationSpeed: 2,
      deltaMs: 100,
      responseLatencyMs: 0,
      vad: DEFAULT_VAD_OPTIONS,
      inputTranscript: () => '',
    },
    conversation: new Conversation(),
    responses,
    outputAudio,
    callIds: new Set(),
    sessionId: 'sess_test',
    send: (event) => sent.push({ at: now, type: event.type }),
    id: (prefix) => `${prefix}_${++ids}`,
    now: () => now,
    timer: (fn, ms) => {
      const timer: PendingTimer = { fn, dueAt: now + Math.max(0, ms) };
      timers.add(timer);
      return timer as unknown as NodeJS.Timeout;
    },
    clearTimer: (handle) => {
      timers.delete(handle as unknown as PendingTimer);
    },
    outputFormat: () => ({ type: 'audio/pcm', rate: 24000 }),
    voiceName: () => 'alloy',
    inputMs: () => 0,
    conversationId: () => 'conv_test',
    declaresTool: () => false,
  };
  const generator = new ResponseGenerator(host);
  const pending = (): PendingTimer => {
    expect(timers.size).toBe(1);
    return [...timers][0]!;
  };
  return {
    generator,
    sent,
    outputAudio,
    responses,
    pending,
    timers,
    /** Fires the one pending timer with the clock at `at` (at or after the time it was due). */
    runTimerAt(at: number): void {
      const timer = pending();
      expect(at).toBeGreaterThanOrEqual(timer.dueAt);
      timers.delete(timer);
      now = at;
      timer.fn();
    },
    deltas: () => sent.filter((e) => e.type === 'response.output_audio.delta'),
  };
}

describe('simulated model audio generation', () => {
  it('sends one delta per interval while its timers fire on time', () => {
    // 100 ms deltas at twice real time: one every 50 ms.
    const r = rig();
    r.generator.start('client');
    expect(r.deltas()).toHaveLength(1);
    for (let k = 1; k < 10; k++) {
      expect(r.pending().dueAt).toBe(50 * k);
      r.runTimerAt(50 * k);
      expect(r.deltas()).toHaveLength(k + 1);
    }
    expect(r.sent.filter((e) => e.type === 'response.done')).toHaveLength(1);
    expect(r.responses[0]!.audioMsSent).toBe(1000);
    expect(r.timers.size).toBe(0);
  });

  it('sends every delta that fell due while a timer was late, then keeps to the schedule', () => {
    const r = rig();
    r.generator.start('client');
    // The event loop stalls: the timer due at 50 ms runs at 320 ms. The service went on generating
    // meanwhile: the deltas due at 50, 100, ... 300 ms all go out now.
    r.runTimerAt(320);
    expect(r.deltas()).toHaveLength(7);
    expect(r.outputAudio.map((c) => c.at)).toEqual([0, 320, 320, 320, 320, 320, 320]);
    // The next one is due when it always was (350 ms), not a full interval after the late timer.
    expect(r.pending().dueAt).toBe(350);
    r.runTimerAt(350);
    expect(r.deltas()).toHaveLength(8);
  });

  it('holds its pace over many late timers: the reply ends when the schedule says, not later', () => {
    // Every timer 30 ms late (60% of the interval): waits counted from each late timer would
    // spread the reply over 720 ms instead of 450.
    const r = rig();
    r.generator.start('client');
    let at = 0;
    while (r.timers.size > 0) {
      at = r.pending().dueAt + 30;
      r.runTimerAt(at);
    }
    expect(r.responses[0]!.audioMsSent).toBe(1000);
    expect(r.sent.filter((e) => e.type === 'response.done')).toHaveLength(1);
    expect(at).toBeLessThanOrEqual(450 + 30);
  });

  it('scales the schedule with the replay speed and sends the rest at once after a long stall', () => {
    // At 5x a 100 ms delta is due every 10 ms of real time; a stall of a second covers them all.
    const r = rig({ speed: 5 });
    r.generator.start('client');
    expect(r.pending().dueAt).toBe(10);
    r.runTimerAt(1000);
    expect(r.deltas()).toHaveLength(10);
    expect(r.sent.filter((e) => e.type === 'response.output_audio.done')).toHaveLength(1);
    expect(r.sent.filter((e) => e.type === 'response.done')).toHaveLength(1);
    expect(r.timers.size).toBe(0);
  });

  it('sends nothing more once the response is cancelled', () => {
    const r = rig();
    r.generator.start('client');
    r.runTimerAt(120);
    expect(r.deltas()).toHaveLength(3);
    r.generator.cancel('turn_detected');
    expect(r.timers.size).toBe(0);
    expect(r.responses[0]!.status).toBe('cancelled');
    expect(r.responses[0]!.audioMsSent).toBe(300);
  });
});
