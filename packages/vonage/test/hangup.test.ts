import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { agentHangupScript } from '@switchboard/conformance';
import { endCallTool, type TelephonyToolContext } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FakeCarrier,
  ManualClock,
  startFakeRest,
  tick,
  until,
  useTransportRig,
  type FakeRest,
} from '@switchboard/conformance/testing';
import { callEnds, useAgentCall, watchPlaybackMarkers } from '@switchboard/test-kit/agent-call';
import { VonageCallControl, VonageRealtimeTransport, type VonageRealtimeTransportOptions } from '../src/index.js';
import { connectedFrame as connectedFrameOf, rsaKeyPair } from './helpers.js';

const keys = rsaKeyPair();
const CALL = '63f61863-4a51-4f6b-86e1-46edebcf9356';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<VonageRealtimeTransportOptions> = {}) =>
    new VonageRealtimeTransport({ vonageWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const connectedFrame = () => connectedFrameOf(CALL);

describe('VonageRealtimeTransport with callControl', () => {
  it('hangs up the PSTN leg through the Voice API only once Vonage echoed the goodbye’s last notify', async () => {
    let acked = false;
    /** For each hang-up request: whether Vonage had echoed the notify when it came. */
    const hangUps: boolean[] = [];
    const api = await startFakeRest(() => {
      hangUps.push(acked);
      return { status: 204 };
    });
    try {
      const callControl = new VonageCallControl({
        applicationId: 'app',
        privateKey: keys.privateKey,
        baseUrl: api.url,
      });
      const clock = new ManualClock();
      const t = rig.make({ now: clock.now, clock, callControl });
      const ends: Array<{ reason?: string }> = [];
      t.on('call_end', (e) => ends.push(e as { reason?: string }));
      rig.carrier.deliver(connectedFrame());
      await t.connect({ apiKey: 'sk-test' });
      // 200 ms of PCM16 24 kHz from the model.
      rig.model.respond('resp_1', 'item_1', [new Uint8Array(9600).fill(1)]);
      const notifies = () =>
        rig.carrier.sent
          .filter((f): f is string => typeof f === 'string')
          .map((f) => JSON.parse(f) as { action?: string; payload?: { name?: string } })
          .filter((m) => m.action === 'notify');
      // The audio goes out within Vonage's lead, followed by its notify.
      await until(() => notifies().length > 0);
      const ending = t.endAfterPlayback();
      // A second of the transport's time passes (within the 15 s bound) without Vonage's echo.
      for (let i = 0; i < 10; i++) {
        clock.advance(100);
        await tick();
      }
      expect(ends).toEqual([]);
      acked = true;
      for (const notify of notifies())
        rig.carrier.deliver(JSON.stringify({ event: 'websocket:notify', payload: notify.payload }));
      await expect(ending).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
      expect(hangUps).toEqual([true]);
      expect(api.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
        ['PUT', `/v1/calls/${CALL}`, { action: 'hangup' }],
      ]);
      expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    } finally {
      await api.stop();
    }
  });

  it('without call control, ends the call by closing the socket', async () => {
    const t = rig.make();
    rig.carrier.deliver(connectedFrame());
    await until(() => t.callStart !== undefined);
    await expect(t.endAfterPlayback()).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(rig.carrier.closed).toBe(true);
  });
});

describe('end_call on a Vonage call, end to end', () => {
  const call = useAgentCall({ afterEach });
  let api: FakeRest | undefined;
  afterEach(async () => {
    await api?.stop();
  });

  it('the model says goodbye and calls end_call: the PSTN leg is hung up only once Vonage echoed every notify of the goodbye', async () => {
    const carrier = new FakeCarrier();
    const notifies = watchPlaybackMarkers(carrier, (frame) => {
      if (typeof frame !== 'string') return undefined;
      const message = JSON.parse(frame) as { action?: string; payload?: unknown };
      return message.action === 'notify' ? { payload: message.payload } : undefined;
    });
    /** Notifies sent and echoed when the hang-up request came. */
    const atHangUp: Array<{ sent: number; acked: number }> = [];
    api = await startFakeRest(() => {
      atHangUp.push({ sent: notifies.sent.length, acked: notifies.acked });
      return { status: 204 };
    });

    const simulator = await call.model(agentHangupScript());
    const callControl = new VonageCallControl({ applicationId: 'app', privateKey: keys.privateKey, baseUrl: api.url });
    // No pacing: the whole goodbye goes to "Vonage" at once, which plays it at the test's pace.
    const transport = new VonageRealtimeTransport({
      vonageWebSocket: carrier,
      url: simulator.url,
      inputAudioInactivityTimeoutMs: null,
      leadMs: null,
      callControl,
    });
    const ends = callEnds(transport);
    carrier.deliver(connectedFrame());
    const agent = new RealtimeAgent<TelephonyToolContext>({
      name: 'Reminder',
      instructions: 'Say goodbye, then call end_call.',
      tools: [endCallTool()],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    const simulated = await call.talk(session, 'Thanks, bye!');

    // Vonage echoes nothing until the whole goodbye has been generated and sent; then it echoes
    // the notifies one by one, as the audio before each plays.
    await until(() => simulated.responses[0]?.status === 'completed' && notifies.sent.length > 0, 20_000);
    await notifies.acknowledgeUntil(
      () => ends.length > 0,
      ({ payload }) => carrier.deliver(JSON.stringify({ event: 'websocket:notify', payload })),
    );

    expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    expect(atHangUp).toHaveLength(1);
    expect(atHangUp[0]!.acked).toBe(atHangUp[0]!.sent);
    expect(atHangUp[0]!.sent).toBeGreaterThan(0);
    expect(api.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      ['PUT', `/v1/calls/${CALL}`, { action: 'hangup' }],
    ]);
    expect(carrier.sent.some((f) => typeof f === 'string' && f.includes('"clear"'))).toBe(false);
  });
});
