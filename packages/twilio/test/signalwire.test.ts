import { createHmac } from 'node:crypto';
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, ProtocolError, WebhookSignatureError, base64Encode, detectProtocol } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FakeRealtimeServer, until } from '@switchboard/conformance/testing';
import {
  SignalWireRealtimeTransport,
  TwilioMediaStreamProtocol,
  TwilioRealtimeTransport,
  assertSignalWireSignature,
  assertSignalWireStreamAuthorization,
  connectStreamCxml,
  readSignalWireSignatureHeader,
  signalwireCandidate,
  twilioCandidate,
  validateSignalWireSignature,
  validateSignalWireStreamAuthorization,
  type SignalWireRealtimeTransportOptions,
} from '../src/index.js';
import { SignalWirePeerSimulator } from '../src/testing.js';

// Frames as SignalWire documents them for cXML <Stream>
// (https://developer.signalwire.com/compatibility-api/cxml/voice/stream).
const SW_STREAM = '7d56cc11-536d-4a45-b4fb-ed3d55be843b';
const SW_CALL = '76ac3c36-56da-4a3e-a0d6-b5f8df6da9ad';
const SW_CONNECTED = JSON.stringify({ event: 'connected', protocol: 'Call', version: '0.2.0' });
const SW_START = JSON.stringify({
  event: 'start',
  sequenceNumber: '1',
  start: {
    streamSid: SW_STREAM,
    accountSid: 'b08dacad-2f6c-4de1-93d6-cc732e0c69c5',
    callSid: SW_CALL,
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-L16', sampleRate: 24000, channels: 1 },
  },
});
const SW_DTMF = JSON.stringify({ event: 'dtmf', streamSid: SW_STREAM, dtmf: { duration: 2700, digit: '8' } });
const swMedia = (payload: Uint8Array, chunk: number, timestamp: number) =>
  JSON.stringify({
    event: 'media',
    sequenceNumber: String(chunk + 1),
    media: { track: 'inbound', chunk: String(chunk), timestamp: String(timestamp), payload: base64Encode(payload) },
    streamSid: SW_STREAM,
  });
/** The same start inside the `rawEvent` envelope SignalWire's documentation shows. */
const SW_START_ENVELOPED = JSON.stringify({
  timestamp: '2025-09-26T16:25:04.794Z',
  direction: 'inbound',
  eventType: 'start',
  streamSid: SW_STREAM,
  callSid: SW_CALL,
  sequenceNumber: '1',
  rawEvent: JSON.parse(SW_START),
});
const TWILIO_CONNECTED = JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });
const TWILIO_START = JSON.stringify({
  event: 'start',
  sequenceNumber: '1',
  start: {
    accountSid: 'AC' + 'c'.repeat(32),
    streamSid: 'MZ' + 'b'.repeat(32),
    callSid: 'CA' + 'a'.repeat(32),
    tracks: ['inbound'],
    customParameters: {},
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
  streamSid: 'MZ' + 'b'.repeat(32),
});

describe('the signalwire dialect of the Media Streams protocol', () => {
  it('decodes SignalWire’s documented start, DTMF (with its duration) and media', () => {
    const protocol = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    expect(protocol.name).toBe('signalwire');
    expect(protocol.decode(SW_CONNECTED)).toEqual([]);
    expect(protocol.decode(SW_START)).toEqual([
      expect.objectContaining({
        type: 'call_start',
        streamId: SW_STREAM,
        callId: SW_CALL,
        format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
      }),
    ]);
    expect(protocol.decode(SW_DTMF)).toEqual([{ type: 'dtmf', digit: '8', durationMs: 2700 }]);
    const pcm = new Uint8Array(960).fill(7);
    expect(protocol.decode(swMedia(pcm, 1, 0))).toEqual([
      expect.objectContaining({ type: 'audio', payload: pcm, sequence: 1, timestampMs: 0 }),
    ]);
    expect(protocol.encode({ type: 'clear' })).toEqual([`{"event":"clear","streamSid":"${SW_STREAM}"}`]);
  });

  it('opens the rawEvent envelope of SignalWire’s documentation; Twilio’s dialect does not', () => {
    expect(new TwilioMediaStreamProtocol({ dialect: 'signalwire' }).decode(SW_START_ENVELOPED)).toEqual([
      expect.objectContaining({ type: 'call_start', streamId: SW_STREAM }),
    ]);
    expect(() => new TwilioMediaStreamProtocol().decode(SW_START_ENVELOPED)).toThrow(ProtocolError);
  });

  it('sends DTMF on the stream, one documented dtmf frame per digit; Twilio’s dialect sends none', () => {
    const protocol = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    expect(protocol.capabilities.dtmfOut).toBe(true);
    protocol.decode(SW_START);
    expect(protocol.encode({ type: 'dtmf', digits: '1#b' }).map((f) => JSON.parse(f as string))).toEqual([
      { event: 'dtmf', streamSid: SW_STREAM, dtmf: { digit: '1' } },
      { event: 'dtmf', streamSid: SW_STREAM, dtmf: { digit: '#' } },
      { event: 'dtmf', streamSid: SW_STREAM, dtmf: { digit: 'B' } },
    ]);
    expect(() => protocol.encode({ type: 'dtmf', digits: '12x' })).toThrow(ProtocolError);
    expect(() =>
      new TwilioMediaStreamProtocol({ dialect: 'signalwire' }).encode({ type: 'dtmf', digits: '1' }),
    ).toThrow(/before the stream/);
    const twilio = new TwilioMediaStreamProtocol();
    expect(twilio.capabilities.dtmfOut).toBe(false);
    twilio.decode(TWILIO_START);
    expect(twilio.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
  });

  it('refuses an L16 media payload that is not whole 16-bit samples, instead of dropping half a sample', () => {
    const protocol = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    protocol.decode(SW_START);
    expect(() => protocol.decode(swMedia(new Uint8Array(961), 1, 0))).toThrow(/not whole 16-bit samples/);
    expect(protocol.decode(swMedia(new Uint8Array(960), 2, 20))).toHaveLength(1);
    // μ-law bytes are whole samples whatever their count.
    const mulaw = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    mulaw.decode(TWILIO_START);
    expect(mulaw.decode(swMedia(new Uint8Array(161), 1, 0))).toHaveLength(1);
  });

  it('names itself in errors, and refuses an unknown dialect', () => {
    const error = (() => {
      try {
        new TwilioMediaStreamProtocol({ dialect: 'signalwire' }).decode('{nope');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).provider).toBe('signalwire');
    expect(() => new TwilioMediaStreamProtocol({ dialect: 'telnyx' as 'twilio' })).toThrow(ConfigError);
  });
});

describe('SignalWirePeerSimulator', () => {
  it('announces L16 as audio/x-L16 with UUID ids and converts μ-law input to the wire format', () => {
    const peer = new SignalWirePeerSimulator({
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      inputFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    });
    const frames = peer.encodeInbound({
      type: 'call_start',
      streamId: '',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: { tenant: 'acme' },
      raw: null,
    }) as string[];
    expect(JSON.parse(frames[0]!)).toMatchObject({ event: 'connected', protocol: 'Call' });
    const start = JSON.parse(frames[1]!);
    expect(start.start.mediaFormat).toEqual({ encoding: 'audio/x-L16', sampleRate: 16000, channels: 1 });
    expect(start.start.streamSid).toMatch(/^[0-9a-f-]{36}$/);
    expect(start.start.customParameters).toEqual({ tenant: 'acme' });

    const protocol = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    protocol.decode(frames[1]!);
    // One second of μ-law in 20 ms frames becomes about one second of L16 16 kHz.
    let bytes = 0;
    for (let i = 0; i < 50; i++) {
      for (const frame of peer.encodeInbound({
        type: 'audio',
        payload: new Uint8Array(160).fill(0x7f),
        timestampMs: i * 20,
        sequence: i + 1,
      })) {
        for (const event of protocol.decode(frame as string))
          if (event.type === 'audio') bytes += event.payload.byteLength;
      }
    }
    expect(Math.abs(bytes - 32000)).toBeLessThanOrEqual(200);
    expect(() => new SignalWirePeerSimulator({ format: { encoding: 'l16', sampleRate: 44100, channels: 1 } })).toThrow(
      ConfigError,
    );
  });
});

describe('SignalWirePeerSimulator DTMF', () => {
  it('accepts the DTMF frames the protocol sends and rejects malformed ones', () => {
    const peer = new SignalWirePeerSimulator({ streamSid: SW_STREAM });
    const protocol = new TwilioMediaStreamProtocol({ dialect: 'signalwire' });
    const reject = (frame: string) => expect(() => peer.decodeOutbound(frame)).toThrow(ProtocolError);
    reject(`{"event":"dtmf","streamSid":"${SW_STREAM}","dtmf":{"digit":"1"}}`); // no stream yet
    const frames = peer.encodeInbound({
      type: 'call_start',
      streamId: SW_STREAM,
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: null,
    });
    for (const f of frames) protocol.decode(f as string);
    expect(protocol.encode({ type: 'dtmf', digits: '9*' }).flatMap((f) => peer.decodeOutbound(f))).toEqual([
      { type: 'dtmf', digits: '9' },
      { type: 'dtmf', digits: '*' },
    ]);
    reject(`{"event":"dtmf","streamSid":"other","dtmf":{"digit":"1"}}`);
    reject(`{"event":"dtmf","streamSid":"${SW_STREAM}","dtmf":{"digit":"12"}}`);
    reject(`{"event":"dtmf","streamSid":"${SW_STREAM}","dtmf":{"digit":"1","duration":100}}`);
    reject(`{"event":"dtmf","dtmf":{"digit":"1"}}`);
    reject(`{"event":"dtmf","streamSid":"${SW_STREAM}","dtmf":{"digit":"b"}}`);
    reject(`{"event":"dtmf","streamSid":"${SW_STREAM}","dtmf":"1"}`);
    // Everything else is still checked as Twilio checks it.
    expect(peer.decodeOutbound(`{"event":"clear","streamSid":"${SW_STREAM}"}`)).toEqual([{ type: 'clear' }]);
  });
});

describe('SignalWireRealtimeTransport', () => {
  let model: FakeRealtimeServer;
  let modelUrl: string;
  let bridge: WebSocketServer;
  let carrier: WebSocket;
  let bridgeSide: Promise<WebSocket>;
  let transport: TwilioRealtimeTransport | undefined;
  const fromBridge: string[] = [];

  beforeEach(async () => {
    model = new FakeRealtimeServer();
    modelUrl = await model.start();
    bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => bridge.once('listening', () => r()));
    bridgeSide = new Promise((resolve) => bridge.once('connection', resolve));
    carrier = new WebSocket(`ws://127.0.0.1:${(bridge.address() as { port: number }).port}/media`);
    await new Promise<void>((r) => carrier.once('open', () => r()));
    fromBridge.length = 0;
    carrier.on('message', (data) => fromBridge.push(String(data)));
  });

  afterEach(async () => {
    transport?.close();
    transport = undefined;
    carrier.terminate();
    await new Promise<void>((r) => bridge.close(() => r()));
    await model.stop();
  });

  it('refuses a missing socket with a clear error', () => {
    expect(() => new SignalWireRealtimeTransport({} as SignalWireRealtimeTransportOptions)).toThrow(
      /signalwireWebSocket/,
    );
  });

  it('bridges SignalWire’s L16 24 kHz stream: metadata, DTMF, signalwire_message, audio both ways', async () => {
    const t = new SignalWireRealtimeTransport({
      signalwireWebSocket: await bridgeSide,
      url: modelUrl,
      inputAudioInactivityTimeoutMs: null,
    });
    transport = t;
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport: t });
    const events: any[] = [];
    session.on('transport_event', (e) => events.push(e));
    const starts: any[] = [];
    t.on('call_start', (e) => starts.push(e));
    for (const frame of [SW_CONNECTED, SW_START]) carrier.send(frame);
    await until(() => t.streamId === SW_STREAM);
    await session.connect({ apiKey: 'sk-test' });
    carrier.send(SW_DTMF);
    const update = (await model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });

    // L16 24 kHz is what the model takes: the caller's audio reaches it unchanged.
    const pcm = new Uint8Array(960);
    for (let i = 0; i < pcm.length; i += 2) pcm[i] = i & 0xff;
    carrier.send(swMedia(pcm, 1, 0));
    await until(() => model.inputAudio().byteLength >= 960);
    expect([...model.inputAudio().subarray(0, 960)]).toEqual([...pcm]);

    // The model's audio goes back as media frames on SignalWire's stream, with marks.
    model.respond('resp_1', 'item_1', [new Uint8Array(4800).fill(1)], { done: false });
    await until(() => fromBridge.some((f) => f.includes('"event":"mark"')));
    const media = fromBridge.map((f) => JSON.parse(f)).filter((m) => m.event === 'media');
    expect(media.length).toBeGreaterThan(0);
    expect(media.every((m) => m.streamSid === SW_STREAM)).toBe(true);

    await until(() => events.some((e) => e.type === 'dtmf'));
    expect(starts).toEqual([
      expect.objectContaining({ callId: SW_CALL, format: { encoding: 'l16', sampleRate: 24000, channels: 1 } }),
    ]);
    expect(events.find((e) => e.type === 'dtmf')).toMatchObject({ digit: '8', durationMs: 2700 });
    expect(events.filter((e) => e.type === 'signalwire_message').map((e) => e.message.event)).toEqual(
      expect.arrayContaining(['dtmf', 'media']),
    );
    expect(events.some((e) => e.type === 'twilio_message')).toBe(false);
    session.close();
  });

  it('is the Twilio transport with dialect: signalwire', async () => {
    const t = new TwilioRealtimeTransport({ twilioWebSocket: await bridgeSide, dialect: 'signalwire', url: modelUrl });
    transport = t;
    expect(t.protocol.name).toBe('signalwire');
  });
});

describe('connectStreamCxml', () => {
  it('adds SignalWire’s codec, bearer token and realtime attributes to <Connect><Stream>', () => {
    expect(
      connectStreamCxml({
        url: 'wss://voice.example.com/media',
        codec: 'L16@16000h',
        authBearerToken: 'tok&1',
        realtime: true,
        parameters: { tenant: 'acme' },
      }),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>' +
        '<Stream url="wss://voice.example.com/media" codec="L16@16000h" authBearerToken="tok&amp;1" realtime="true">' +
        '<Parameter name="tenant" value="acme"/></Stream></Connect></Response>',
    );
  });

  it('refuses a malformed codec or an empty token, naming itself', () => {
    expect(() => connectStreamCxml({ url: 'wss://h.example/m', codec: 'L16 16k' })).toThrow(ConfigError);
    expect(() => connectStreamCxml({ url: 'wss://h.example/m', authBearerToken: '' })).toThrow(ConfigError);
    expect(() => connectStreamCxml({ url: 'https://h.example/m' })).toThrow(/connectStreamCxml: url must use wss/);
  });
});

describe('SignalWire signatures', () => {
  const signingKey = 'PSK_test_signing_key';
  const url = 'https://voice.example.com/signalwire/voice';
  const params = {
    CallSid: SW_CALL,
    AccountSid: 'b08dacad-2f6c-4de1-93d6-cc732e0c69c5',
    From: '+15550001111',
    To: '+15550002222',
  };
  // Independently computed: base64(HMAC-SHA1(key, url + names and values sorted by name)).
  const signature = createHmac('sha1', signingKey)
    .update(
      url +
        Object.keys(params)
          .sort()
          .map((k) => k + params[k as keyof typeof params])
          .join(''),
    )
    .digest('base64');

  it('accepts a Compatibility webhook signed with the project’s Signing Key', async () => {
    expect(await validateSignalWireSignature({ signingKey, signature, url, params })).toBe(true);
    await expect(assertSignalWireSignature({ signingKey, signature, url, params })).resolves.toBeUndefined();
  });

  it('rejects tampered parameters, another key, or a missing header with a WebhookSignatureError', async () => {
    expect(
      await validateSignalWireSignature({ signingKey, signature, url, params: { ...params, To: '+15559999999' } }),
    ).toBe(false);
    expect(await validateSignalWireSignature({ signingKey: 'other', signature, url, params })).toBe(false);
    await expect(assertSignalWireSignature({ signingKey, signature: undefined, url, params })).rejects.toBeInstanceOf(
      WebhookSignatureError,
    );
    await expect(assertSignalWireSignature({ signingKey, signature: 'AAAA', url, params })).rejects.toThrow(
      /X-SignalWire-Signature/,
    );
    await expect(validateSignalWireSignature({ signingKey: '', signature, url, params })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('reads X-SignalWire-Signature, else the legacy X-Twilio-Signature', () => {
    expect(readSignalWireSignatureHeader({ 'X-SignalWire-Signature': 'a', 'x-twilio-signature': 'b' })).toBe('a');
    expect(readSignalWireSignatureHeader(new Headers({ 'x-twilio-signature': 'b' }))).toBe('b');
    expect(readSignalWireSignatureHeader({})).toBeUndefined();
  });

  it('checks the stream’s authBearerToken on the WebSocket upgrade', () => {
    expect(
      validateSignalWireStreamAuthorization({ headers: { authorization: 'Bearer s3cret' }, bearerToken: 's3cret' }),
    ).toBe(true);
    expect(
      validateSignalWireStreamAuthorization({ headers: { authorization: 'Bearer wrong' }, bearerToken: 's3cret' }),
    ).toBe(false);
    expect(validateSignalWireStreamAuthorization({ headers: {}, bearerToken: 's3cret' })).toBe(false);
    expect(() =>
      assertSignalWireStreamAuthorization({ headers: { authorization: 'Basic x' }, bearerToken: 's3cret' }),
    ).toThrow(WebhookSignatureError);
    expect(() => validateSignalWireStreamAuthorization({ headers: {}, bearerToken: '' })).toThrow(ConfigError);
  });
});

describe('detection candidates', () => {
  const candidates = [signalwireCandidate, twilioCandidate];

  it('recognises Twilio’s and SignalWire’s first frames', () => {
    expect(detectProtocol(TWILIO_CONNECTED, candidates)?.name).toBe('twilio');
    expect(detectProtocol(TWILIO_START, candidates)?.name).toBe('twilio');
    expect(detectProtocol(SW_CONNECTED, candidates)?.name).toBe('signalwire');
    expect(detectProtocol(SW_START, candidates)?.name).toBe('signalwire');
    expect(detectProtocol(SW_START_ENVELOPED, candidates)?.name).toBe('signalwire');
    // Without the SignalWire candidate, the Twilio one serves SignalWire too.
    expect(detectProtocol(SW_CONNECTED, [twilioCandidate])?.name).toBe('twilio');
    expect(signalwireCandidate.create().name).toBe('signalwire');
    expect(twilioCandidate.create().name).toBe('twilio');
  });

  it('leaves other carriers’ frames alone', () => {
    for (const frame of [
      JSON.stringify({ event: 'connected', version: '1.0.0' }), // Telnyx
      JSON.stringify({ event: 'start', stream_id: 'x', start: { call_control_id: 'y' } }), // Telnyx
      JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000' }), // Vonage
      'MEDIA_START connection_id:c channel:PJSIP/a format:ulaw', // Asterisk
      new Uint8Array([1, 2, 3]),
      '{not json',
    ]) {
      expect(detectProtocol(frame, candidates)).toBeUndefined();
    }
  });
});
