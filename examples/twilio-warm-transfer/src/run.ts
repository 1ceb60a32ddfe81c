/**
 * One warm transfer, offline: the realtime simulator stands in for the OpenAI Realtime API and the
 * fake Twilio of @switchboard/example-support for Twilio (the caller's phone and Media Stream,
 * the REST API, the billing team's phone, the conference and its signed callbacks). Used by
 * `pnpm example:warm-transfer` and the tests.
 */
import { performance } from 'node:perf_hooks';
import { RealtimeSimulator } from '@switchboard/conformance';
import {
  FakeTwilio,
  MODEL_RATE,
  person,
  speechLike,
  type FakeCallLeg,
  type FakeTwilioRequest,
} from '@switchboard/example-support';
import { DESTINATIONS, LINES, frontDeskScript } from './agent.js';
import { startWarmTransferApp, type FrontDeskCall } from './app.js';

export type RunWarmTransferOptions = {
  /** 1 is real time. Default 1. */
  speed?: number;
  /** Whether the billing team answers. Default true. */
  answered?: boolean;
  /** How long caller and billing talk once joined, call ms. Default 3000. */
  talkMs?: number;
  print?: (line: string, at: number) => void;
};

export type WarmTransferRun = {
  call: FrontDeskCall | undefined;
  callerLeg: FakeCallLeg;
  humanLeg: FakeCallLeg | undefined;
  requests: FakeTwilioRequest[];
  /** When the caller's call was moved (the transfer's first REST request), call clock. */
  movedAt: number | undefined;
  /** What the caller heard of the agent: ms played, ms cut, when the last of it played. */
  heardMs: number;
  cutMs: number;
  lastHeardAt: number | undefined;
  /** Every conference membership change, in order: `join <label>` / `leave <label>`. */
  conference: string[];
};

const AUTH_TOKEN = 'offline-demo-auth-token';
export const NUMBER = '+15550001111';
export const CALLER = '+15557654321';

/** How long the simulated model takes to say `line`, ms. */
function spokenMs(line: string): number {
  return (speechLike(line, MODEL_RATE).length * 1000) / MODEL_RATE;
}

export async function runWarmTransfer(options: RunWarmTransferOptions = {}): Promise<WarmTransferRun> {
  const speed = options.speed ?? 1;
  const t0 = performance.now();
  const now = () => (performance.now() - t0) * speed;
  const print = (line: string) => options.print?.(line, now());

  const simulator = new RealtimeSimulator({ speed, script: frontDeskScript() });
  await simulator.start({ host: '127.0.0.1', port: 0 });

  const billing = { ...person('Billing, this is Alex.', [], 190), label: 'billing team (Alex)' };
  const twilio = await FakeTwilio.start({
    authToken: AUTH_TOKEN,
    answer: (to) => (to === DESTINATIONS.billing && options.answered !== false ? billing : undefined),
    speed,
    now,
  });
  const conference: string[] = [];
  twilio.onEvent((event) => {
    print(`twilio │ ${event.text}`);
    const joined = /^the (.+) (joins|waits in) conference/.exec(event.text);
    const left = /^the (.+) left conference/.exec(event.text);
    if (joined) conference.push(`join ${joined[1]}`);
    if (left) conference.push(`leave ${left[1]}`);
  });
  const app = await startWarmTransferApp({
    twilio: { accountSid: twilio.accountSid, authToken: AUTH_TOKEN, from: NUMBER, baseUrl: twilio.url },
    realtimeUrl: `${simulator.url}?model=gpt-realtime`,
    now,
    log: (line) => print(`app    │ ${line}`),
  });

  const caller = {
    ...person(
      'Hi, I have a question about my bill.',
      // The caller asks for a person once the agent's question is over.
      [{ say: 'Actually, can I talk to a person, please?', minAgentMs: spokenMs(LINES.help) - 200 }],
      150,
    ),
    label: 'caller',
  };
  try {
    const callerLeg = twilio.incomingCall({ from: CALLER, to: NUMBER, url: `${app.url}/voice`, caller });
    const deadline = performance.now() + 60_000 / speed + 10_000;
    const wait = async (done: () => boolean) => {
      while (!done() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const call = () => app.calls.get(callerLeg.sid);
    const humanLeg = () => [...twilio.legs.values()].find((leg) => leg.to === DESTINATIONS.billing);
    // The transfer goes through (the billing team joins), or the caller is brought back.
    await wait(() => call()?.transfer.some((u) => u.outcome === 'joined' || u.outcome === 'returned') ?? false);
    if (call()?.transfer.some((u) => u.outcome === 'joined')) {
      // Caller and billing talk for a while; then the caller hangs up, which ends the conference.
      const talkUntil = now() + (options.talkMs ?? 3000);
      await wait(() => now() >= talkUntil);
      twilio.hangUp(callerLeg.sid);
    }
    await wait(
      () =>
        callerLeg.endedAt !== undefined &&
        (humanLeg()?.endedAt !== undefined || !humanLeg()) &&
        call()?.transfer.some((u) => u.outcome === 'ended' || u.outcome === 'returned') === true,
    );
    const moved = twilio.requests.find((r) => r.path.endsWith(`/Calls/${callerLeg.sid}.json`));
    const chunks = callerLeg.streams.flatMap((s) => s.log.chunks);
    const last = chunks.at(-1);
    return {
      call: call(),
      callerLeg,
      humanLeg: humanLeg(),
      requests: twilio.requests,
      movedAt: moved?.at,
      heardMs: chunks.reduce((n, c) => n + (c.playedMs ?? c.durationMs), 0),
      cutMs: chunks.reduce((n, c) => n + (c.playedMs === undefined ? 0 : c.durationMs - c.playedMs), 0),
      lastHeardAt: last ? last.startAt + (last.playedMs ?? last.durationMs) : undefined,
      conference,
    };
  } finally {
    await app.close();
    await twilio.stop();
    await simulator.stop();
  }
}
