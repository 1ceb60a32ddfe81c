import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { RealtimeSimulator, agentHangupScript } from '@switchboard/conformance';
import { endCallTool, type TelephonyToolContext } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCarrier, startFakeRest, tick, until, type FakeRest } from '@switchboard/conformance/testing';
import { PlivoCallControl, PlivoRealtimeTransport } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';

const AUTH_ID = 'MAZDQ1ZJY0ZDA2ZTJMZA';
const CALL = '1ed7fd89-df77-4ebf-8196-d5cf7222c918';

describe('end_call on a Plivo call, end to end', () => {
  let simulator: RealtimeSimulator | undefined;
  let session: RealtimeSession<TelephonyToolContext> | undefined;
  let api: FakeRest | undefined;
  afterEach(async () => {
    session?.close();
    await simulator?.stop();
    await api?.stop();
  });

  it('the model says goodbye and calls end_call: Plivo is asked to hang up only once every checkpoint of the goodbye came back', async () => {
    const peer = new PlivoPeerSimulator();
    const carrier = new FakeCarrier();
    const checkpoints: string[] = [];
    let acked = 0;
    /** Checkpoints sent and acknowledged when the hang-up request came. */
    const atHangUp: Array<{ sent: number; acked: number }> = [];
    api = await startFakeRest(() => {
      atHangUp.push({ sent: checkpoints.length, acked });
      return { status: 204 };
    });
    const send = carrier.send.bind(carrier);
    carrier.send = (frame) => {
      send(frame);
      const message = JSON.parse(String(frame)) as { event?: string; name?: string };
      if (message.event === 'checkpoint' && message.name) checkpoints.push(message.name);
    };

    simulator = new RealtimeSimulator({ script: agentHangupScript(), speed: 20 });
    await simulator.start();
    const callControl = new PlivoCallControl({ authId: AUTH_ID, authToken: 'token', baseUrl: api.url });
    const transport = new PlivoRealtimeTransport({
      plivoWebSocket: carrier,
      url: simulator.url,
      inputAudioInactivityTimeoutMs: null,
      callControl,
    });
    const ends: Array<{ reason?: string }> = [];
    transport.on('call_end', (e) => ends.push(e as { reason?: string }));
    for (const frame of peer.encodeInbound({
      type: 'call_start',
      streamId: '87654321-4321-4321-4321-cba987654321',
      callId: CALL,
      customParameters: {},
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      raw: null,
    }))
      carrier.deliver(frame);
    const agent = new RealtimeAgent<TelephonyToolContext>({
      name: 'Reminder',
      instructions: 'Say goodbye, then call end_call.',
      tools: [endCallTool()],
    });
    session = new RealtimeSession(agent, { transport, context: { transport } });
    const connected = simulator.nextSession();
    await session.connect({ apiKey: 'sk-test' });
    const simulated = await connected;
    session.sendMessage('Thanks, bye!');

    // Plivo plays nothing until the whole goodbye has been generated and sent; then it
    // acknowledges the checkpoints one by one, as the audio before each plays.
    await until(() => simulated.responses[0]?.status === 'completed' && checkpoints.length > 0, 20_000);
    const deadline = Date.now() + 20_000;
    while (ends.length === 0 && Date.now() < deadline) {
      if (acked < checkpoints.length)
        for (const f of peer.encodeInbound({ type: 'playback_ack', name: checkpoints[acked++]! })) carrier.deliver(f);
      await tick(10);
    }

    expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    expect(atHangUp).toHaveLength(1);
    expect(atHangUp[0]!.acked).toBe(atHangUp[0]!.sent);
    expect(atHangUp[0]!.sent).toBeGreaterThan(0);
    expect(api.requests[0]).toMatchObject({ method: 'DELETE', path: `/v1/Account/${AUTH_ID}/Call/${CALL}/` });
    // The goodbye was never cut: no clear went to Plivo.
    expect(carrier.sent.some((f) => String(f).includes('"clearAudio"'))).toBe(false);
  });
});
