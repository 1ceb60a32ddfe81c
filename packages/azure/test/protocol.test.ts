import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError, base64Encode, type CallEvent } from '@switchboard/core';
import { AzureMediaStreamProtocol } from '../src/index.js';
import { AZURE_INVALID_CHUNK_CODE, AZURE_INVALID_FRAME_CODE, AzurePeerSimulator } from '../src/testing.js';

const SUBSCRIPTION = '89e8cb59-b991-48b0-b154-1db84f16a077';
const CALL = '18dea47f-b081-4107-9a5c-4300819d2c6c';

/** The metadata frame as the Learn quickstart shows it. */
const metadata = (sampleRate: unknown = 16000, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'AudioMetadata',
    audioMetadata: { subscriptionId: SUBSCRIPTION, encoding: 'PCM', sampleRate, channels: 1, length: 640, ...extra },
  });

const audioFrame = (data: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'AudioData',
    audioData: {
      timestamp: '2024-11-15T19:16:12.925Z',
      participantRawID: '4:14255550123',
      data,
      silent: false,
      ...extra,
    },
  });

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('AzureMediaStreamProtocol: decode', () => {
  it('starts the call on AudioMetadata: subscriptionId as stream id, 16-bit PCM at its rate, the call id from the upgrade', () => {
    const protocol = new AzureMediaStreamProtocol({ callConnectionId: CALL, customParameters: { lang: 'en' } });
    const [event] = protocol.decode(metadata(24000));
    expect(event).toMatchObject({
      type: 'call_start',
      streamId: SUBSCRIPTION,
      callId: CALL,
      format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
      customParameters: { lang: 'en' },
    });
    expect(protocol.subscriptionId).toBe(SUBSCRIPTION);
    // Without a call connection id, the call starts all the same.
    const [bare] = new AzureMediaStreamProtocol().decode(metadata());
    expect(bare).not.toHaveProperty('callId');
    expect(bare).toMatchObject({ format: { sampleRate: 16000 }, customParameters: {} });
  });

  it('takes the call id and parameters describeCall knows for the subscription over the static ones', () => {
    const seen: string[] = [];
    const protocol = new AzureMediaStreamProtocol({
      callConnectionId: 'static',
      describeCall: (id) => {
        seen.push(id);
        return { callConnectionId: CALL, customParameters: { tenant: 't1' } };
      },
    });
    expect(protocol.decode(metadata())[0]).toMatchObject({ callId: CALL, customParameters: { tenant: 't1' } });
    expect(seen).toEqual([SUBSCRIPTION]);
  });

  it('passes AudioData through as PCM, drops frames of other participants when asked, and reads silent frames without data as 20 ms of silence', () => {
    const protocol = new AzureMediaStreamProtocol({ participantRawId: '4:14255550123' });
    protocol.decode(metadata(24000));
    const pcm = Uint8Array.from({ length: 960 }, (_, i) => i & 0xff);
    expect(protocol.decode(audioFrame(base64Encode(pcm)))).toEqual([{ type: 'audio', payload: pcm }]);
    expect(protocol.decode(audioFrame(base64Encode(pcm), { participantRawID: '8:acs:other' }))).toEqual([]);
    expect(protocol.decode(audioFrame('', { silent: true }))).toEqual([
      { type: 'audio', payload: new Uint8Array(960) },
    ]);
    expect(protocol.decode(audioFrame(null, { silent: true }))[0]).toMatchObject({ type: 'audio' });
  });

  it('reads the .NET SDK’s PascalCase fields and a binary frame holding UTF-8 JSON', () => {
    const protocol = new AzureMediaStreamProtocol();
    const four = new Uint8Array([1, 2, 3, 4]);
    const frame = JSON.stringify({ Kind: 'AudioData', AudioData: { Data: base64Encode(four), Silent: false } });
    expect(protocol.decode(frame)).toEqual([{ type: 'audio', payload: four }]);
    expect(protocol.decode(new TextEncoder().encode(audioFrame(base64Encode(four))))).toEqual([
      { type: 'audio', payload: four },
    ]);
  });

  it('turns DtmfData into one dtmf event per tone: digits and tone names', () => {
    const protocol = new AzureMediaStreamProtocol();
    const dtmf = (data: unknown) => JSON.stringify({ kind: 'DtmfData', dtmfData: { data } });
    expect(protocol.decode(dtmf('3'))).toEqual([{ type: 'dtmf', digit: '3' }]);
    expect(protocol.decode(dtmf('12#'))).toEqual([
      { type: 'dtmf', digit: '1' },
      { type: 'dtmf', digit: '2' },
      { type: 'dtmf', digit: '#' },
    ]);
    expect(protocol.decode(dtmf('pound'))).toEqual([{ type: 'dtmf', digit: '#' }]);
    expect(protocol.decode(dtmf('a'))).toEqual([{ type: 'dtmf', digit: 'A' }]);
  });

  it('ignores the kinds of a transcription stream and kinds it does not know', () => {
    const protocol = new AzureMediaStreamProtocol();
    expect(protocol.decode('{"kind":"TranscriptionMetadata","transcriptionMetadata":{"subscriptionId":"x"}}')).toEqual(
      [],
    );
    expect(protocol.decode('{"kind":"SomethingNew"}')).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"kind":"AudioData",', /not valid JSON/],
    ['a JSON array', '[1,2]', /not a JSON object/],
    ['no kind', '{"audioData":{"data":"AAAA"}}', /no string "kind"/],
    ['a kind that is a number', '{"kind":7}', /no string "kind"/],
    ['AudioData without its object', '{"kind":"AudioData","audioData":"AAAA"}', /without an audioData object/],
    ['data that is not a string', audioFrame(42), /not a base64 string/],
    ['data that is not base64', audioFrame('%%%'), /not valid base64/],
    ['half a sample', audioFrame(base64Encode(new Uint8Array(3))), /whole 16-bit samples/],
    ['no data on a frame that is not silent', audioFrame(''), /without audioData.data/],
    ['silent that is not a boolean', audioFrame('AAAA', { silent: 'yes' }), /silent is not a boolean/],
    ['AudioMetadata without its object', '{"kind":"AudioMetadata"}', /without an audioMetadata object/],
    [
      'no subscriptionId',
      JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { sampleRate: 16000 } }),
      /subscriptionId/,
    ],
    ['a rate that is a string', metadata('16000'), /not an integer/],
    ['a wrong rate', metadata(8000), /8000 is not supported/],
    ['another encoding', metadata(16000, { encoding: 'OPUS' }), /not "PCM"/],
    ['stereo', metadata(16000, { channels: 2 }), /mono/],
    ['DtmfData without a digit', '{"kind":"DtmfData","dtmfData":{}}', /string dtmfData.data/],
    ['DtmfData with letters', '{"kind":"DtmfData","dtmfData":{"data":"xyz"}}', /keypad digits/],
    ['DtmfData of 33 tones', JSON.stringify({ kind: 'DtmfData', dtmfData: { data: '1'.repeat(33) } }), /32 tones/],
  ])('refuses %s with a ProtocolError', (_name, frame, message) => {
    expect(thrown(() => new AzureMediaStreamProtocol().decode(frame)).message).toMatch(message);
  });

  it('refuses a rate ACS does not stream with code azure_unsupported_format, and a binary frame that is not UTF-8', () => {
    expect(thrown(() => new AzureMediaStreamProtocol().decode(metadata(48000))).code).toBe('azure_unsupported_format');
    expect(thrown(() => new AzureMediaStreamProtocol().decode(Uint8Array.of(0xff, 0xfe, 0x00))).message).toMatch(
      /binary frame/,
    );
  });

  it('refuses an oversized frame unparsed', () => {
    const huge = audioFrame('A'.repeat(1024 * 1024 + 4));
    expect(thrown(() => new AzureMediaStreamProtocol().decode(huge)).message).toMatch(/longer than/);
  });
});

describe('AzureMediaStreamProtocol: encode and capabilities', () => {
  it('writes AudioData and StopAudio as the SDKs’ OutStreamingData does, and nothing for marks, DTMF or hang-up', () => {
    const protocol = new AzureMediaStreamProtocol();
    const pcm = new Uint8Array([1, 0, 2, 0]);
    expect(protocol.encode({ type: 'audio', payload: pcm })).toEqual([
      `{"kind":"AudioData","audioData":{"data":"${base64Encode(pcm)}"}}`,
    ]);
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(0) })).toEqual([]);
    expect(JSON.parse(protocol.encode({ type: 'clear' })[0] as string)).toEqual({
      kind: 'StopAudio',
      audioData: null,
      stopAudio: {},
    });
    expect(protocol.encode({ type: 'mark', name: 'm1' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
  });

  it('declares no acknowledgements, a clear, DTMF in, 20 ms frames and a paced output (configurable)', () => {
    expect(new AzureMediaStreamProtocol().capabilities).toEqual({
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 20 },
      pacing: { leadMs: 1000 },
    });
    expect(new AzureMediaStreamProtocol({ pacingLeadMs: null }).capabilities).not.toHaveProperty('pacing');
    expect(new AzureMediaStreamProtocol({ pacingLeadMs: 400 }).capabilities.pacing).toEqual({ leadMs: 400 });
    expect(new AzureMediaStreamProtocol({ sampleRate: 24000 }).defaultFormat).toEqual({
      encoding: 'l16',
      sampleRate: 24000,
      channels: 1,
    });
  });

  it('refuses options it cannot honour with a ConfigError', () => {
    expect(() => new AzureMediaStreamProtocol({ sampleRate: 8000 as 16000 })).toThrow(ConfigError);
    expect(() => new AzureMediaStreamProtocol({ pacingLeadMs: 0 })).toThrow(ConfigError);
    expect(() => new AzureMediaStreamProtocol({ callConnectionId: 5 as unknown as string })).toThrow(ConfigError);
    expect(() => new AzureMediaStreamProtocol({ describeCall: 'x' as never })).toThrow(ConfigError);
  });
});

describe('AzurePeerSimulator', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: SUBSCRIPTION,
    callId: CALL,
    customParameters: {},
    format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
    raw: null,
  };

  it('writes AudioMetadata, AudioData (the caller’s μ-law as 16 kHz PCM) and DtmfData the protocol reads; nothing for call_end', () => {
    const announced: string[] = [];
    const peer = new AzurePeerSimulator({
      inputFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      onCallStart: (id, event) => announced.push(`${id}:${event.callId}`),
    });
    const protocol = new AzureMediaStreamProtocol();
    const frames = [
      ...peer.encodeInbound(start),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(0x10) }),
      ...peer.encodeInbound({ type: 'dtmf', digit: '7' }),
      ...peer.encodeInbound({ type: 'call_end' }),
    ];
    expect(frames).toHaveLength(3);
    expect(announced).toEqual([`${SUBSCRIPTION}:${CALL}`]);
    const events = frames.flatMap((f) => protocol.decode(f));
    expect(events[0]).toMatchObject({ type: 'call_start', streamId: SUBSCRIPTION, format: { sampleRate: 16000 } });
    expect(events[1]).toMatchObject({ type: 'audio' });
    expect((events[1] as { payload: Uint8Array }).payload.byteLength).toBe(640);
    expect(events[2]).toEqual({ type: 'dtmf', digit: '7' });
    expect(JSON.parse(frames[0] as string).audioMetadata).toEqual({
      subscriptionId: SUBSCRIPTION,
      encoding: 'PCM',
      sampleRate: 16000,
      channels: 1,
      length: 640,
    });
  });

  it('sends silence without its samples when told to, which the protocol reads back as 20 ms of silence', () => {
    const peer = new AzurePeerSimulator({ silentFrames: 'empty' });
    const protocol = new AzureMediaStreamProtocol();
    const frames = [
      ...peer.encodeInbound(start),
      ...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(640) }),
    ];
    expect(JSON.parse(frames[1] as string).audioData).toMatchObject({ data: '', silent: true });
    expect(frames.flatMap((f) => protocol.decode(f))[1]).toEqual({ type: 'audio', payload: new Uint8Array(640) });
  });

  it('accepts AudioData and StopAudio as the JS SDK writes them (camelCase kinds) and as the .NET SDK does (PascalCase)', () => {
    const peer = new AzurePeerSimulator();
    peer.encodeInbound(start);
    const data = base64Encode(new Uint8Array(640));
    // @azure/communication-call-automation OutStreamingData: kind "audioData", isSilent, stopAudio {}.
    expect(
      peer.decodeOutbound(JSON.stringify({ kind: 'audioData', audioData: { data, isSilent: false }, stopAudio: {} })),
    ).toEqual([{ type: 'audio', payload: new Uint8Array(640) }]);
    expect(peer.decodeOutbound(JSON.stringify({ kind: 'stopAudio', stopAudio: {} }))).toEqual([{ type: 'clear' }]);
    // Azure.Communication.CallAutomation OutStreamingData, System.Text.Json defaults.
    expect(
      peer.decodeOutbound(
        JSON.stringify({
          Kind: 'AudioData',
          AudioData: { Data: data, Timestamp: '0001-01-01T00:00:00', Participant: null, IsSilent: false },
          StopAudio: null,
        }),
      ),
    ).toEqual([{ type: 'audio', payload: new Uint8Array(640) }]);
    expect(peer.decodeOutbound('{"Kind":"StopAudio","AudioData":null,"StopAudio":{}}')).toEqual([{ type: 'clear' }]);
  });

  it.each([
    ['binary', new Uint8Array([1, 2]), AZURE_INVALID_FRAME_CODE],
    ['not JSON', '{', AZURE_INVALID_FRAME_CODE],
    ['no kind', '{"audioData":{"data":"AAAA"}}', AZURE_INVALID_FRAME_CODE],
    ['a mark', '{"kind":"Mark","mark":{"name":"x"}}', AZURE_INVALID_FRAME_CODE],
    ['an unknown field', '{"kind":"StopAudio","stopAudio":{},"extra":1}', AZURE_INVALID_FRAME_CODE],
    [
      'an unknown audio field',
      '{"kind":"AudioData","audioData":{"data":"AAAA","rate":16000}}',
      AZURE_INVALID_FRAME_CODE,
    ],
    ['empty audio', '{"kind":"AudioData","audioData":{"data":""}}', AZURE_INVALID_FRAME_CODE],
    ['audio that is not base64', '{"kind":"AudioData","audioData":{"data":"%%%"}}', AZURE_INVALID_FRAME_CODE],
    ['StopAudio with audio', '{"kind":"StopAudio","audioData":{"data":"AAAA"}}', AZURE_INVALID_FRAME_CODE],
    [
      'half a sample',
      `{"kind":"AudioData","audioData":{"data":"${base64Encode(new Uint8Array(641))}"}}`,
      AZURE_INVALID_CHUNK_CODE,
    ],
    [
      '19 ms of audio',
      `{"kind":"AudioData","audioData":{"data":"${base64Encode(new Uint8Array(608))}"}}`,
      AZURE_INVALID_CHUNK_CODE,
    ],
    [
      'over 64 KB',
      `{"kind":"AudioData","audioData":{"data":"${base64Encode(new Uint8Array(66_560))}"}}`,
      AZURE_INVALID_CHUNK_CODE,
    ],
  ])('rejects %s', (_name, frame, code) => {
    const peer = new AzurePeerSimulator();
    const error = thrown(() => peer.decodeOutbound(frame));
    expect(error.code).toBe(code);
  });

  it('takes audio of any whole sample count when wholeFrames is off, and refuses a rate ACS does not stream', () => {
    const peer = new AzurePeerSimulator({ wholeFrames: false });
    const data = base64Encode(new Uint8Array(608));
    expect(peer.decodeOutbound(`{"kind":"AudioData","audioData":{"data":"${data}"}}`)).toHaveLength(1);
    expect(() => new AzurePeerSimulator({ sampleRate: 8000 as 16000 })).toThrow(ConfigError);
  });
});
