/**
 * Pre-warm on Twilio and SignalWire: the voice webhook names the call by its `CallSid`, and the
 * media stream's `start` carries the same sid (`start.callSid`), which the transport reports as
 * `callStart.callId`.
 */
import { RealtimeSimulator } from '@switchboard/conformance';
import { FakeCarrier, until } from '@switchboard/conformance/testing';
import { PrewarmPool } from '@switchboard/core';
import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { afterEach, describe, expect, it } from 'vitest';
import {
  computeTwilioSignature,
  SignalWireRealtimeTransport,
  TwilioMediaStreamProtocol,
  TwilioRealtimeTransport,
  validateTwilioSignature,
} from '../src/index.js';
import { SignalWirePeerSimulator, TwilioPeerSimulator } from '../src/testing.js';

const PCMU = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;
const sid = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll('-', '')}`;

describePrewarm({
  name: 'Twilio',
  call() {
    const webhook = new URLSearchParams({
      CallSid: sid('CA'),
      AccountSid: sid('AC'),
      From: '+15550100',
      To: '+15550101',
    });
    return peerCall(new TwilioPeerSimulator(), webhook.get('CallSid')!, PCMU);
  },
  protocol: () => new TwilioMediaStreamProtocol(),
  transport: (connection, url) =>
    new TwilioRealtimeTransport({ twilioWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});

describePrewarm({
  name: 'SignalWire',
  call() {
    return peerCall(new SignalWirePeerSimulator(), crypto.randomUUID(), PCMU); // SignalWire's call ids are UUIDs
  },
  protocol: () => new TwilioMediaStreamProtocol({ dialect: 'signalwire' }),
  transport: (connection, url) =>
    new SignalWireRealtimeTransport({ signalwireWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});

describe('pre-warm from a signed Twilio voice webhook', () => {
  let model: RealtimeSimulator | undefined;
  let pool: PrewarmPool<{ transport: TwilioRealtimeTransport }> | undefined;
  afterEach(async () => {
    await pool?.close();
    await model?.stop();
  });

  it('warms only for a webhook whose signature verifies, at its CallSid, which the stream then claims', async () => {
    model = new RealtimeSimulator({ speed: 20 });
    await model.start();
    const url = model.url;
    pool = new PrewarmPool({
      create: ({ connection }) => {
        const transport = new TwilioRealtimeTransport({ twilioWebSocket: connection, url });
        void transport.connect({ apiKey: 'sk-test' }).catch(() => undefined);
        return { transport };
      },
    });
    const authToken = '12345678901234567890123456789012';
    const webhookUrl = 'https://bridge.example.com/incoming-call';
    const params = { CallSid: sid('CA'), AccountSid: sid('AC'), From: '+15550100', To: '+15550101' };
    const signature = await computeTwilioSignature(authToken, webhookUrl, params);
    /** The application's webhook: verify, then warm. */
    const onWebhook = async (body: Record<string, string>, header: string) => {
      if (await validateTwilioSignature({ authToken, signature: header, url: webhookUrl, params: body }))
        pool!.warm(body['CallSid']!);
    };

    await onWebhook({ ...params, CallSid: sid('CA') }, signature); // forged: another call, same signature
    expect(pool.stats.warmed).toBe(0);
    const opened = model.nextSession();
    await onWebhook(params, signature);
    expect(pool.stats.warmed).toBe(1);
    await opened;

    const socket = new FakeCarrier();
    const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
    const peer = new TwilioPeerSimulator();
    for (const frame of peer.encodeInbound({
      type: 'call_start',
      callId: params.CallSid,
      streamId: '',
      format: PCMU,
      customParameters: {},
      raw: null,
    }))
      socket.deliver(frame);
    const result = await accepted;
    expect(result).toMatchObject({ kind: 'prewarmed', callId: params.CallSid });
    if (result.kind !== 'prewarmed') return;
    await until(() => result.call.transport.callStart !== undefined);
    expect(result.call.transport.callStart?.callId).toBe(params.CallSid);
    expect(model.sessions).toHaveLength(1);
  });
});
