import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { agentHangupScript } from '@switchboard/conformance';
import { endCallTool, type TelephonyToolContext } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCarrier, startFakeRest, until, type FakeRest } from '@switchboard/conformance/testing';
import { callEnds, useAgentCall, watchPlaybackMarkers } from '@switchboard/test-kit/agent-call';
import { PlivoCallControl, PlivoRealtimeTransport } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';
import { AUTH_ID, CALL, deliverStart } from './helpers.js';

describe('end_call on a Plivo call, end to end', () => {
  const call = useAgentCall({ afterEach });
  let api: FakeRest | undefined;
  afterEach(async () => {
    await api?.stop();
  });

  it('the model says goodbye and calls end_call: Plivo is asked to hang up only once every checkpoint of the goodbye came back', async () => {
    const peer = new PlivoPeerSimulator();
    const carrier = new FakeCarrier();
    const checkpoints = watchPlaybackMarkers(carrier, (frame) => {
      const message = JSON.parse(String(frame)) as { event?: string; name?: string };
      return message.event === 'checkpoint' ? message.name : undefined;
    });
    /** Checkpoints sent and acknowledged when the hang-up request came. */
    const atHangUp: Array<{ sent: number; acked: number }> = [];
    api = await startFakeRest(() => {
      atHangUp.push({ sent: checkpoints.sent.length, acked: checkpoints.acked });
      return { status: 204 };
    });

    const simulator = await call.model(agentHangupScript());
    const callControl = new PlivoCallControl({ authId: AUTH_ID, authToken: 'token', baseUrl: api.url });
    const transport = new PlivoRealtimeTransport({
      plivoWebSocket: carrier,
      url: simulator.url,
      inputAudioInactivityTimeoutMs: null,
      callControl,
    });
    const ends = callEnds(transport);
    deliverStart(carrier, peer);
    const agent = new RealtimeAgent<TelephonyToolContext>({
      name: 'Reminder',
      instructions: 'Say goodbye, then call end_call.',
      tools: [endCallTool()],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    const simulated = await call.talk(session, 'Thanks, bye!');

    // Plivo plays nothing until the whole goodbye has been generated and sent; then it
    // acknowledges the checkpoints one by one, as the audio before each plays.
    await until(() => simulated.responses[0]?.status === 'completed' && checkpoints.sent.length > 0, 20_000);
    await checkpoints.acknowledgeUntil(
      () => ends.length > 0,
      (name) => {
        for (const f of peer.encodeInbound({ type: 'playback_ack', name })) carrier.deliver(f);
      },
    );

    expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    expect(atHangUp).toHaveLength(1);
    expect(atHangUp[0]!.acked).toBe(atHangUp[0]!.sent);
    expect(atHangUp[0]!.sent).toBeGreaterThan(0);
    expect(api.requests[0]).toMatchObject({ method: 'DELETE', path: `/v1/Account/${AUTH_ID}/Call/${CALL}/` });
    // The goodbye was never cut: no clear went to Plivo.
    expect(carrier.sent.some((f) => String(f).includes('"clearAudio"'))).toBe(false);
  });
});
