/**
 * Agent call features against sipp. A transfer, sipp calling (test/sipp/uac-refer.xml): the model
 * says a few words and calls transfer_call; the endpoint sends the REFER once they were played,
 * with the call's context, and sipp checks it, reports the new call answered, and takes the BYE.
 * A call the endpoint places, sipp answering (test/sipp/uas-answer.xml): a digest challenge
 * answered, the agent says goodbye and hangs up.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { endCallTool, transferCallTool } from '@switchboard/core';
import { RealtimeSimulator, agentHangupScript, loadAgentReplies, type SimulatorTurn } from '@switchboard/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipEndpoint, sipTransfer, type SipCall } from '../src/index.js';
import { freeUdpPort, haveSipp, runSipp, type SippRun } from './sipp/sipp.js';
import { until } from './support/endpoint.js';

const SIPP = haveSipp();
// A developer's machine may lack sipp; CI installs it (`.ci/run`) and must run this.
if (process.env.CI === 'true' && !SIPP) throw new Error('CI: the sipp tests need sipp (Debian package sip-tester)');

function explain(run: SippRun): string {
  return `sipp exited ${run.code}\n--- errors\n${run.errors.slice(-3000)}\n--- messages\n${run.messages.slice(-6000)}`;
}

/** The realtime simulator playing `script`, and a UDP endpoint whose calls use it (not listening yet). */
async function agentEndpoint(
  script: SimulatorTurn[],
): Promise<{ simulator: RealtimeSimulator; endpoint: SipEndpoint }> {
  const simulator = new RealtimeSimulator({ script });
  await simulator.start();
  const endpoint = new SipEndpoint({
    host: '127.0.0.1',
    port: 0,
    transports: ['udp'],
    rtp: { ports: { min: 20000, max: 30000 } },
    transport: { url: `${simulator.url}?model=gpt-realtime` },
  });
  return { simulator, endpoint };
}

/** A session of `agent` on the call's transport (the call tools find it in the context); closed by `closeAll`. */
function agentSession(call: SipCall, agent: RealtimeAgent, sessions: RealtimeSession[]): RealtimeSession {
  const session = new RealtimeSession(agent, {
    transport: call.transport,
    model: 'gpt-realtime',
    context: { transport: call.transport },
  });
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}

async function closeAll(sessions: RealtimeSession[], endpoint?: SipEndpoint, simulator?: RealtimeSimulator) {
  for (const session of sessions) session.close();
  await endpoint?.close();
  await simulator?.stop();
}

describe.skipIf(!SIPP)('SipEndpoint transfers to sipp', () => {
  let simulator: RealtimeSimulator;
  let endpoint: SipEndpoint;
  const calls: SipCall[] = [];
  const sessions: RealtimeSession[] = [];
  const outcomes: unknown[] = [];

  beforeAll(async () => {
    const reply = loadAgentReplies().find((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio')!;
    const summary = 'Refund for order 42';
    const script: SimulatorTurn[] = [
      { ...reply, call: { name: 'transfer_call', arguments: { destination: 'sales', reason: 'billing', summary } } },
    ];
    ({ simulator, endpoint } = await agentEndpoint(script));
    const transfer = sipTransfer({ context: 'both' });
    const tool = transferCallTool({
      destinations: { sales: 'sip:sales@pbx.example.com' },
      transfer: (request) =>
        transfer(request).then(
          (result) => (outcomes.push(result), result),
          (error: unknown) => {
            outcomes.push(error);
            throw error;
          },
        ),
    });
    endpoint.on('call', (call) => {
      calls.push(call);
      const agent = new RealtimeAgent({ name: 'Agent', instructions: 'Transfer billing questions.', tools: [tool] });
      void agentSession(call, agent, sessions)
        .connect({ apiKey: 'sk-test' })
        .then(() => call.transport.sendEvent({ type: 'response.create' }))
        .catch(() => undefined);
    });
    await endpoint.listen();
  });

  afterAll(() => closeAll(sessions, endpoint, simulator));

  it('sends the REFER with the context once the words were played; hangs up after the NOTIFY of success', async () => {
    const run = await runSipp({ scenario: 'uac-refer.xml', port: endpoint.port, timeoutS: 60 });
    expect(run.code, explain(run)).toBe(0);
    const call = calls.at(-1)!;
    await until(() => outcomes.length > 0, 'the transfer handler to settle');
    expect(outcomes).toEqual([
      { transferred: true, destination: 'sales', target: 'sip:sales@pbx.example.com', waitedFor: 'completed' },
    ]);
    expect(call.state).toBe('ended');
    expect(call.endReason).toBe('hangup');
    // The agent's words went out before the REFER: the reply was sent in full.
    expect(call.rtp.counters.packetsOut).toBeGreaterThan(10);
  }, 90_000);
});

describe.skipIf(!SIPP)('SipEndpoint places a call to sipp', () => {
  let simulator: RealtimeSimulator;
  let endpoint: SipEndpoint;
  const sessions: RealtimeSession[] = [];

  beforeAll(async () => {
    ({ simulator, endpoint } = await agentEndpoint(agentHangupScript()));
    await endpoint.listen();
  });

  afterAll(() => closeAll(sessions, endpoint, simulator));

  it('answers the digest challenge, carries the X- headers, and the agent hangs up once its goodbye was played', async () => {
    const port = await freeUdpPort();
    const phone = runSipp({
      scenario: 'uas-answer.xml',
      port: endpoint.port,
      args: ['-p', String(port)],
      timeoutS: 60,
    });
    // sipp binds its port as it starts: retry the INVITE until it does (a 408 means nobody was there yet).
    let call: SipCall | undefined;
    for (let attempt = 0; !call; attempt++) {
      try {
        call = await endpoint.call(`sip:phone@127.0.0.1:${port}`, {
          from: 'sip:reminders@example.com',
          headers: { 'X-Campaign': 'reminder' },
          auth: { username: 'alice', password: 'wonderland' },
        });
      } catch (error) {
        if ((error as { status?: number }).status !== 408 || attempt > 5) throw error;
      }
    }
    expect(call.from).toBe('sip:reminders@example.com');
    expect(call.to).toBe(`sip:phone@127.0.0.1:${port}`);
    expect(call.transport.callStart?.customParameters).toEqual({ Campaign: 'reminder' });
    const ends: Array<string | undefined> = [];
    call.transport.on('call_end', (event: { reason?: string }) => ends.push(event.reason));
    const agent = new RealtimeAgent({
      name: 'Reminder',
      instructions: 'Remind, then hang up.',
      tools: [endCallTool()],
    });
    const session = agentSession(call, agent, sessions);
    await session.connect({ apiKey: 'sk-test' });
    call.transport.sendEvent({ type: 'response.create' });
    const run = await phone;
    expect(run.code, explain(run)).toBe(0);
    expect(call.state).toBe('ended');
    expect(ends).toEqual(['agent_hangup']);
    expect(call.rtp.counters.packetsOut).toBeGreaterThan(10);
  }, 90_000);

  it('cancels a call that rings past its ring timeout, and rejects with the 487', async () => {
    const port = await freeUdpPort();
    const phone = runSipp({ scenario: 'uas-ring.xml', port: endpoint.port, args: ['-p', String(port)], timeoutS: 60 });
    let outcome: unknown;
    for (let attempt = 0; outcome === undefined; attempt++) {
      try {
        await endpoint.call(`sip:phone@127.0.0.1:${port}`, { ringTimeoutMs: 300 });
        outcome = 'answered';
      } catch (error) {
        // sipp binds its port as it starts: a 408 means nobody was there yet.
        if ((error as { status?: number }).status !== 408 || attempt > 5) outcome = error;
      }
    }
    expect(outcome).toMatchObject({ name: 'CallControlError', status: 487 });
    const run = await phone;
    expect(run.code, explain(run)).toBe(0);
    expect(run.messages).toMatch(/^CANCEL sip:phone@127\.0\.0\.1:\d+ SIP\/2\.0/m);
    expect(endpoint.calls).toEqual([]);
  }, 90_000);
});
