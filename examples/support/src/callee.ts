/**
 * Who answers a call of the fake Twilio: a person or an answering machine, as the Media Stream
 * frames Twilio would send for them (20 ms μ-law frames with Twilio's sequence numbers, chunks
 * and timestamps), plus when Twilio's answering machine detection decides.
 */
import { base64Encode, encodeMuLaw } from '@switchboard/core';
import type { Trace, TraceFrame } from '@switchboard/conformance';
import { PHONE_RATE, concat, silence, speechLike, tone } from './voices.js';

/** One piece of what the callee does, in order. */
export type CalleeStep =
  /**
   * Says `text` (synthesized, see voices.ts). `afterAgent`: first waits until the agent has spoken
   * (at least `minAgentMs` of audio, default 1 ms) and gone quiet.
   */
  | { say: string; afterAgent?: boolean; minAgentMs?: number; pitchHz?: number }
  /** An answering machine's beep. */
  | { beep: true }
  | { silenceMs: number };

export type Callee = {
  /** Shown in the examples' output: `person`, `voicemail`, `agent Sam`. */
  label: string;
  steps: CalleeStep[];
  /**
   * What Twilio's AMD reports (`AnsweredBy`) and after which step it decides (its index in
   * `steps`; the callback is sent once that step has played, plus `afterMs`).
   */
  amd?: {
    answeredBy: string;
    afterStep: number;
    afterMs?: number;
    /**
     * The call's Media Stream comes up late: the steps up to `afterStep` happen before it (Twilio
     * hears them, the stream does not), and the result is reported before the stream opens.
     */
    beforeStream?: boolean;
  };
};

/** A reply of a person: what they say, and how much of the agent they wait to hear first (ms). */
export type Reply = string | { say: string; minAgentMs: number };

/**
 * A person who answers with `greeting`, then replies to the agent with each of `replies` in
 * turn, each once the agent has spoken and gone quiet. Twilio's detection says `human` about a
 * second after the greeting.
 */
export function person(greeting: string, replies: Reply[], pitchHz = 165): Callee {
  return {
    label: 'person',
    steps: [
      { silenceMs: 400 },
      { say: greeting, pitchHz },
      { silenceMs: 1500 },
      ...replies.map((reply) => ({
        ...(typeof reply === 'string' ? { say: reply } : reply),
        afterAgent: true,
        pitchHz,
      })),
    ],
    amd: { answeredBy: 'human', afterStep: 1, afterMs: 1200 },
  };
}

/** An answering machine: its greeting, a beep, then it records whatever comes. */
export function answeringMachine(greeting: string): Callee {
  return {
    label: 'voicemail',
    steps: [{ silenceMs: 600 }, { say: greeting, pitchHz: 140 }, { silenceMs: 500 }, { beep: true }],
    amd: { answeredBy: 'machine_end_beep', afterStep: 3, afterMs: 600 },
  };
}

/** How long a step takes, ms (speech with its air after). */
export function stepMs(step: CalleeStep): number {
  if ('say' in step) return (speechLike(step.say, PHONE_RATE).length * 1000) / PHONE_RATE + 300;
  return 'beep' in step ? 500 : step.silenceMs;
}

/** Where each step lies in the callee's trace, ms. */
export type StepTimes = Array<{ startMs: number; endMs: number; afterAgent: boolean; minAgentMs: number }>;

/** How long the line stays open after the callee's last step, ms (the app hangs up well before). */
const TAIL_MS = 120_000;
const FRAME_MS = 20;
const FRAME_BYTES = (PHONE_RATE * FRAME_MS) / 1000;

/**
 * The frames Twilio sends on the callee's Media Stream: `connected`, `start` with the ids and the
 * `<Parameter>`s of the TwiML, then the callee's audio in 20 ms frames, silence after the last step.
 */
export function calleeTrace(
  callee: Callee,
  ids: { accountSid: string; callSid: string; streamSid: string; customParameters: Record<string, string> },
): { trace: Trace; steps: StepTimes } {
  const pieces: Int16Array[] = [];
  const steps: StepTimes = [];
  let ms = 0;
  for (const step of callee.steps) {
    const audio =
      'say' in step
        ? speechLike(step.say, PHONE_RATE, step.pitchHz)
        : 'beep' in step
          ? tone(500, 1000, PHONE_RATE)
          : silence(step.silenceMs, PHONE_RATE);
    // Whole frames, and a little air after speech.
    const padded = concat(audio, silence('say' in step ? 300 : 0, PHONE_RATE));
    const frames = Math.ceil(padded.length / FRAME_BYTES);
    const whole = concat(padded, new Int16Array(frames * FRAME_BYTES - padded.length));
    steps.push({
      startMs: ms,
      endMs: ms + frames * FRAME_MS,
      afterAgent: 'say' in step && step.afterAgent === true,
      minAgentMs: ('say' in step && step.minAgentMs) || 1,
    });
    pieces.push(whole);
    ms += frames * FRAME_MS;
  }
  pieces.push(silence(TAIL_MS, PHONE_RATE));
  const mulaw = encodeMuLaw(concat(...pieces));
  const { accountSid, callSid, streamSid, customParameters } = ids;
  const frames: TraceFrame[] = [
    { t: 0, frame: { event: 'connected', protocol: 'Call', version: '1.0.0' } },
    {
      t: 0,
      frame: {
        event: 'start',
        sequenceNumber: '1',
        start: {
          accountSid,
          streamSid,
          callSid,
          tracks: ['inbound'],
          customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: PHONE_RATE, channels: 1 },
        },
        streamSid,
      },
    },
  ];
  for (let i = 0, at = 0; at < mulaw.length; i++, at += FRAME_BYTES) {
    frames.push({
      t: i * FRAME_MS,
      frame: {
        event: 'media',
        sequenceNumber: String(i + 2),
        media: {
          track: 'inbound',
          chunk: String(i + 1),
          timestamp: String(i * FRAME_MS),
          payload: base64Encode(mulaw.subarray(at, at + FRAME_BYTES)),
        },
        streamSid,
      },
    });
  }
  const trace: Trace = {
    header: {
      name: `callee-${callee.label}`,
      description: `The ${callee.label} answering an outbound call of the examples.`,
      source: 'synthesized: speech-like voiced syllables and tones (examples/support/src/voices.ts)',
      hazards: [],
    },
    frames,
  };
  return { trace, steps };
}
