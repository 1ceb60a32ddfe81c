/**
 * The Media Stream of a `<Connect><Stream>`, as the fake Twilio plays it: the callee's frames
 * through the Twilio peer simulator (marks acknowledged as the agent's audio plays, clears
 * honoured), a person's replies held until the agent has spoken and gone quiet, and the
 * asynchronous answering machine detection result sent when the callee's audio says so.
 */
import { CallerSimulator } from '@switchboard/conformance';
import { computeTwilioSignature } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { calleeTrace, type Callee } from './callee.js';
import type { FakeCallLeg, FakeTwilioEvent } from './fake-twilio.js';
import { PHONE_RATE } from './voices.js';

/** How long the agent must have been silent before a person replies, call ms. */
const QUIET_MS = 800;

/** What a stream needs of the fake Twilio. */
export type StreamHost = {
  readonly accountSid: string;
  readonly authToken: string;
  readonly speed: number;
  readonly now: () => number;
  emit(kind: FakeTwilioEvent['kind'], text: string, callSid: string): void;
  /** Whether the call asked for asynchronous detection and its callee has a result. */
  asyncAmd(leg: FakeCallLeg): boolean;
  /** Sends the detection result to the call's `AsyncAmdStatusCallback`. */
  amdCallback(leg: FakeCallLeg, detectionMs: number): Promise<void>;
};

/**
 * A leg as the stream sees it: `generation` changes, and `changed` resolves, when the call's TwiML
 * is replaced or the call ends.
 */
export type StreamLeg = FakeCallLeg & {
  readonly generation: number;
  readonly changed: Promise<void>;
  readonly streamCallee?: Callee;
};

/** Plays the callee into the stream at `url` until the stream closes, the call's TwiML changes or the call ends. */
export async function runMediaStream(
  host: StreamHost,
  leg: StreamLeg,
  generation: number,
  streamSid: string,
  url: string,
  parameters: Record<string, string>,
): Promise<void> {
  const callee = leg.streamCallee ?? leg.callee!;
  const { trace, steps } = calleeTrace(callee, {
    accountSid: host.accountSid,
    callSid: leg.sid,
    streamSid,
    customParameters: parameters,
  });
  const caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format: { encoding: 'pcmu', sampleRate: PHONE_RATE, channels: 1 },
    speed: host.speed,
    now: host.now,
  });
  leg.stream = caller;
  leg.streams.push(caller);
  try {
    await caller.connect(url, { 'x-twilio-signature': await computeTwilioSignature(host.authToken, url) });
  } catch (error) {
    host.emit(
      'stream',
      `call ${leg.sid}: the Media Stream to ${url} was refused (${(error as Error).message})`,
      leg.sid,
    );
    return;
  }
  host.emit('stream', `Media Stream ${streamSid} open to ${new URL(url).pathname} (signed upgrade accepted)`, leg.sid);

  // Twilio's asynchronous AMD: a POST to AsyncAmdStatusCallback once it has decided.
  const amd = callee.amd;
  const amdAt = amd && steps[amd.afterStep] ? steps[amd.afterStep]!.endMs + (amd.afterMs ?? 0) : undefined;
  let amdSent = !host.asyncAmd(leg) || leg.streamCallee !== undefined;
  if (leg.params['MachineDetection'] && leg.params['AsyncAmd'] !== 'true')
    host.emit('amd', 'synchronous AMD is not simulated (use AsyncAmd=true)', leg.sid);

  // A person waits for the agent to have spoken, and to be quiet, before each reply.
  const times = new Map(trace.frames.map((f) => [f.frame, f.t] as const));
  const chunksAt = new Map<number, number>();
  /** The last step before `index` in which the callee speaks, or -1. */
  const lastSpoken = (index: number) => {
    for (let i = index - 1; i >= 0; i--) if ('say' in callee.steps[i]!) return i;
    return -1;
  };
  let gate = steps.findIndex((s) => s.afterAgent);
  let holdingSince: number | undefined;
  const holdAt = (t: number): boolean => {
    if (gate < 0 || t < steps[gate]!.startMs) return false;
    const chunks = caller.log.chunks;
    let heard = 0;
    for (let i = chunksAt.get(gate) ?? 0; i < chunks.length; i++) heard += chunks[i]!.durationMs;
    const last = chunks.at(-1);
    const quiet = last !== undefined && last.startAt + (last.playedMs ?? last.durationMs) + QUIET_MS <= caller.now();
    holdingSince ??= caller.now();
    if ((heard >= steps[gate]!.minAgentMs && quiet) || caller.now() - holdingSince > 30_000) {
      holdingSince = undefined;
      gate = steps.findIndex((s, i) => i > gate && s.afterAgent);
      return false;
    }
    return true;
  };
  const played = caller.play(trace, {
    holdAt,
    onFrameSent: (frame) => {
      const t = times.get(frame);
      if (t === undefined) return;
      const starting = steps.findIndex((step) => step.startMs === t);
      const step = callee.steps[starting];
      if (starting >= 0 && step && !('silenceMs' in step))
        host.emit(
          'call',
          'say' in step ? `the ${callee.label} says "${step.say}"` : `the ${callee.label} beeps`,
          leg.sid,
        );
      // The agent's audio so far, as the callee finishes what it said before the next gated step:
      // what the agent says from there on is what the callee waits for (all of it, when the callee
      // said nothing on this stream before).
      if (gate >= 0 && t + 20 === steps[lastSpoken(gate)]?.endMs) chunksAt.set(gate, caller.log.chunks.length);
      if (!amdSent && amdAt !== undefined && t >= amdAt) {
        amdSent = true;
        void host.amdCallback(leg, amdAt);
      }
    },
  });
  await Promise.race([played, leg.changed]);
  if (leg.generation !== generation || leg.endedAt !== undefined) {
    caller.hangUp(); // Twilio ends the stream when the call's TwiML changes or the call ends.
  }
  leg.stream = undefined;
  host.emit('stream', `Media Stream ${streamSid} closed`, leg.sid);
}
