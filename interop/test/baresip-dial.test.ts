/**
 * The SIP endpoint places a call to baresip 1.0 (a real SIP user agent, Debian's package) on
 * 127.0.0.1: baresip sees the INVITE with its X- header and answers it; the agent says goodbye
 * and hangs up with end_call; baresip gets the BYE after every packet of the goodbye was sent (the
 * timing against RTP's clock is held in packages/sip/test/endpoint-call-features.test.ts).
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { endCallTool } from '@switchboard/core';
import { agentHangupScript, MODEL_SAMPLE_RATE, type SimulatorTurn } from '@switchboard/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointRig } from './support/baresip-rig.js';
import { Baresip, baresipSkipReason, freeTcpPort, titled, waitFor } from './support/baresip.js';

const SKIP = baresipSkipReason();

describe.skipIf(SKIP !== undefined)(titled('SipEndpoint places a call to baresip', SKIP), () => {
  let rig: EndpointRig;
  let ua: Baresip | undefined;
  let session: RealtimeSession | undefined;

  beforeAll(async () => {
    rig = await EndpointRig.start(agentHangupScript());
  });

  afterAll(async () => {
    session?.close();
    await ua?.stop();
    await rig?.close();
  });

  it('baresip answers the INVITE with its X- header; the agent says goodbye, then baresip gets the BYE', async () => {
    const endpoint = await rig.endpoint();
    const sipPort = await freeTcpPort();
    ua = await Baresip.start({
      accounts: [{ user: 'phone', domain: `127.0.0.1:${endpoint.port}` }],
      sipTrace: true,
      sipPort,
    });
    const placing = endpoint.call(`sip:phone@127.0.0.1:${sipPort}`, { headers: { 'X-Campaign': 'reminder' } });
    const incoming = await ua.waitForEvent('phone', 'CALL_INCOMING');
    expect((await ua.command('accept')).ok).toBe(true);
    const call = await placing;
    expect(incoming.id).toBe(call.callId);
    await ua.waitForEvent('phone', 'CALL_ESTABLISHED');
    expect(call.media?.codec).toBe('pcmu');
    // The INVITE as baresip received it.
    const invite = ua.output.split('\u001b[36;1m#').find((m) => /^INVITE sip:phone@/m.test(m)) ?? '';
    expect(invite).toMatch(/^X-Campaign: reminder\r?$/m);
    expect(invite).toMatch(/^Content-Type: application\/sdp\r?$/m);

    const ends: Array<string | undefined> = [];
    call.transport.on('call_end', (event: { reason?: string }) => ends.push(event.reason));
    const agent = new RealtimeAgent({
      name: 'Reminder',
      instructions: 'Remind, then hang up.',
      tools: [endCallTool()],
    });
    session = new RealtimeSession(agent, { transport: call.transport, context: { transport: call.transport } });
    session.on('error', () => undefined);
    await session.connect({ apiKey: 'sk-test', url: `${rig.simulator.url}?model=gpt-realtime` });
    call.transport.sendEvent({ type: 'response.create' });

    const closed = await ua.waitForEvent('phone', 'CALL_CLOSED', 60_000);
    expect(closed.param).toMatch(/reset by peer/i);
    await waitFor('the call to end', () => call.state === 'ended');
    expect(ends).toEqual(['agent_hangup']);
    expect(call.endReason).toBe('hangup');
    // Every 20 ms packet of the goodbye left before the BYE.
    const goodbye = agentHangupScript()[0] as Extract<SimulatorTurn, { kind: 'audio' }>;
    const goodbyeMs = (goodbye.audio.length / MODEL_SAMPLE_RATE) * 1000;
    expect(call.rtp.counters.packetsOut).toBeGreaterThanOrEqual(Math.floor(goodbyeMs / 20));
  }, 90_000);
});
