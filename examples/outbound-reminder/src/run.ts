/**
 * One reminder call, offline: the realtime simulator stands in for the OpenAI Realtime API and
 * the fake Twilio of @switchboard/example-support for Twilio (its REST API, the callee's phone
 * and the Media Stream, the signed AMD callback). Used by `pnpm example:reminder` and the tests.
 */
import { performance } from 'node:perf_hooks';
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import {
  FakeTwilio,
  answeringMachine,
  person,
  type FakeCallLeg,
  type FakeTwilioRequest,
  MODEL_RATE,
  speechLike,
} from '@switchboard/example-support';
import { LINES, personScript, voicemailScript, type Appointment } from './agent.js';
import { startReminderApp, type ReminderApp, type ReminderCall } from './app.js';

export type Answerer = 'person' | 'machine';

export type RunReminderOptions = {
  answeredBy: Answerer;
  /** The call's stream comes up late: Twilio's result (on the greeting) reaches the app before the stream does. */
  detectionBeforeStream?: boolean;
  /** 1 is real time. Default 1. */
  speed?: number;
  /** Receives each line of what happens, with its time on the call clock. */
  print?: (line: string, at: number) => void;
};

export type ReminderRun = {
  call: ReminderCall;
  detections: ReminderApp['detections'];
  leg: FakeCallLeg;
  /** Every REST request Twilio got, in order. */
  requests: FakeTwilioRequest[];
  /** When Twilio was told to hang up (`Status=completed`), call clock. */
  hangUpAt: number | undefined;
  /** What the callee heard of the agent: ms played, ms cut by a clear, when the last of it played. */
  heardMs: number;
  cutMs: number;
  lastHeardAt: number | undefined;
  /** The model's audio per response, ms generated, and whether each was completed. */
  responses: Array<{ transcript: string; audioMs: number; status: string }>;
};

const AUTH_TOKEN = 'offline-demo-auth-token';
const FROM = '+15550001111';
export const APPOINTMENT: Appointment = {
  id: 'apt-1042',
  to: '+15557654321',
  patient: 'Sam Rivera',
  when: 'tomorrow at 3 PM',
  with: 'Dr. Lee',
};

/** How long the simulated model takes to say `line`, ms. */
export function spokenMs(line: string): number {
  return (speechLike(line, MODEL_RATE).length * 1000) / MODEL_RATE;
}

export async function runReminder(options: RunReminderOptions): Promise<ReminderRun> {
  const speed = options.speed ?? 1;
  const t0 = performance.now();
  const now = () => (performance.now() - t0) * speed;
  const print = (line: string) => options.print?.(line, now());

  const simulator = new RealtimeSimulator({
    speed,
    script: options.answeredBy === 'person' ? personScript() : voicemailScript(),
  });
  await simulator.start({ host: '127.0.0.1', port: 0 });
  let model: SimulatedSession | undefined;
  let modelClosed = false;
  simulator.on('session', (session) => {
    if (model) return;
    model = session;
    void session.closed.then(() => (modelClosed = true));
  });

  const callee =
    options.answeredBy === 'person'
      ? // The person answers the agent's question once they have heard all of it.
        person('Hello?', [{ say: "Yes, I'll be there. Thanks!", minAgentMs: spokenMs(LINES.reminder) - 200 }])
      : answeringMachine(
          "Hi, you've reached Sam. I can't take your call right now, please leave a message after the beep.",
        );
  if (options.detectionBeforeStream && callee.amd) callee.amd.beforeStream = true;
  const twilio = await FakeTwilio.start({
    authToken: AUTH_TOKEN,
    answer: (to) => (to === APPOINTMENT.to ? callee : undefined),
    speed,
    now,
  });
  twilio.onEvent((event) => print(`twilio │ ${event.text}`));
  const app = await startReminderApp({
    twilio: { accountSid: twilio.accountSid, authToken: AUTH_TOKEN, from: FROM, baseUrl: twilio.url },
    realtimeUrl: `${simulator.url}?model=gpt-realtime`,
    now,
    // Twilio always reports (`unknown` at its own timeout); this only covers a lost callback.
    detectionTimeoutMs: 60_000 / speed,
    log: (line) => print(`app    │ ${line}`),
  });

  try {
    const call = await app.remind(APPOINTMENT);
    const leg = twilio.legs.get(call.callSid);
    if (!leg) throw new Error('Twilio has no such call');
    // The whole call takes well under a minute of call time.
    const deadline = performance.now() + 90_000 / speed + 10_000;
    while (performance.now() < deadline && (leg.endedAt === undefined || call.end === undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (leg.endedAt === undefined || call.end === undefined) throw new Error('the call did not end in time');
    // The model's session closes after the call.
    const closedBy = performance.now() + 10_000;
    while (model && !modelClosed && performance.now() < closedBy) await new Promise((r) => setTimeout(r, 20));

    const hangUp = twilio.requests.find((r) => r.params['Status'] === 'completed');
    const chunks = leg.streams.flatMap((s) => s.log.chunks);
    const heardMs = chunks.reduce((n, c) => n + (c.playedMs ?? c.durationMs), 0);
    const cutMs = chunks.reduce((n, c) => n + (c.playedMs === undefined ? 0 : c.durationMs - c.playedMs), 0);
    const last = chunks.at(-1);
    return {
      call,
      detections: app.detections,
      leg,
      requests: twilio.requests,
      hangUpAt: hangUp?.at,
      heardMs,
      cutMs,
      lastHeardAt: last ? last.startAt + (last.playedMs ?? last.durationMs) : undefined,
      responses: (model?.responses ?? []).map((r) => ({
        transcript: r.transcript,
        audioMs: r.audioMsSent,
        status: r.status,
      })),
    };
  } finally {
    await app.close();
    await twilio.stop();
    await simulator.stop();
  }
}
