import { ConfigError, ProtocolError, type CallEvent } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import {
  ASTERISK_MAX_MESSAGE_BYTES,
  RawWebSocketProtocol,
  callFields,
  readCallStart,
  readDtmf,
  type RawWebSocketPreset,
} from '../src/index.js';

const L16_16K = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;
const L16_8K = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
const PCMU = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('vonage', () => {
  const connected = JSON.stringify({
    event: 'websocket:connected',
    'content-type': 'audio/l16;rate=16000',
    uuid: '63f61863-4a51-4f6b-86e1-46edebcf9356',
    from: '447700900000',
    to: '447700900001',
    language: 'en-GB',
    'caller-id': 42,
  });
  const started = () => {
    const protocol = new RawWebSocketProtocol('vonage');
    protocol.decode(connected);
    return protocol;
  };

  it('declares notify acks, confirmed clears, 20 ms frames, pacing and an L16 16 kHz default', () => {
    const protocol = new RawWebSocketProtocol('vonage');
    expect(protocol.name).toBe('vonage');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'confirm',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 20, maxBytes: 65536 },
      pacing: { leadMs: 1000 },
    });
    expect(protocol.defaultFormat).toEqual(L16_16K);
    expect(protocol.started).toBe(false);
    expect(new RawWebSocketProtocol({ preset: 'vonage', leadMs: 400 }).capabilities.pacing).toEqual({ leadMs: 400 });
    expect(new RawWebSocketProtocol({ preset: 'vonage', leadMs: null }).capabilities.pacing).toBeUndefined();
  });

  it('turns websocket:connected into call_start with the format from content-type and the headers as parameters', () => {
    const protocol = new RawWebSocketProtocol('vonage');
    const events = protocol.decode(connected);
    expect(events).toEqual([
      {
        type: 'call_start',
        streamId: '63f61863-4a51-4f6b-86e1-46edebcf9356',
        callId: '63f61863-4a51-4f6b-86e1-46edebcf9356',
        from: '447700900000',
        to: '447700900001',
        format: L16_16K,
        customParameters: { language: 'en-GB', 'caller-id': '42' },
        raw: JSON.parse(connected),
      },
    ]);
    expect(protocol.started).toBe(true);
    expect(protocol.streamId).toBe('63f61863-4a51-4f6b-86e1-46edebcf9356');
  });

  it('reads numeric uuid, from and to as text, keeping the message as received as raw', () => {
    const message = {
      event: 'websocket:connected',
      'content-type': 'audio/l16;rate=16000',
      uuid: 7,
      from: 447700900000,
      to: true,
    };
    const [event] = new RawWebSocketProtocol('vonage').decode(JSON.stringify(message));
    expect(event).toMatchObject({
      type: 'call_start',
      streamId: '7',
      callId: '7',
      from: '447700900000',
      to: 'true',
      raw: message,
    });
    expect(
      thrown(() => new RawWebSocketProtocol('vonage').decode(JSON.stringify({ ...message, from: { n: 1 } }))).message,
    ).toMatch(/"from" must be a string/);
    // Other presets keep refusing a number where a string belongs.
    expect(() => readCallStart('hello', { id: 7 }, '{}', { callId: 'id', format: PCMU, customParameters: {} })).toThrow(
      /"id" must be a string/,
    );
  });

  it('reads 8 kHz streams and names a stream without a uuid header itself', () => {
    const protocol = new RawWebSocketProtocol('vonage');
    const [event] = protocol.decode('{"event":"websocket:connected","content-type":"audio/l16;rate=8000"}');
    expect(event).toMatchObject({ type: 'call_start', format: L16_8K, customParameters: {} });
    expect((event as Extract<CallEvent, { type: 'call_start' }>).streamId).toMatch(/^vonage-[0-9a-f-]{36}$/);
    expect(event).not.toHaveProperty('callId');
  });

  it('refuses content types Vonage does not stream', () => {
    expect(
      thrown(() =>
        new RawWebSocketProtocol('vonage').decode(
          '{"event":"websocket:connected","content-type":"audio/l16;rate=12000"}',
        ),
      ).message,
    ).toMatch(/8000, 16000 or 24000/);
    expect(
      thrown(() =>
        new RawWebSocketProtocol('vonage').decode('{"event":"websocket:connected","content-type":"audio/pcmu"}'),
      ).message,
    ).toMatch(/content-type/);
    expect(
      thrown(() => new RawWebSocketProtocol('vonage').decode('{"event":"websocket:connected","content-type":16000}'))
        .message,
    ).toMatch(/must be a string/);
  });

  it('passes 20 ms binary frames through as audio', () => {
    const protocol = started();
    const frame = bytes(640, 7);
    expect(protocol.decode(frame)).toEqual([{ type: 'audio', payload: frame }]);
    expect(protocol.decode(new Uint8Array(0))).toEqual([]);
  });

  it('decodes DTMF, clear confirmations and notify acks', () => {
    const protocol = started();
    expect(protocol.decode('{"event":"websocket:dtmf","digit":"5","duration":260}')).toEqual([
      { type: 'dtmf', digit: '5', durationMs: 260 },
    ]);
    expect(protocol.decode('{"event":"websocket:dtmf","digit":"#"}')).toEqual([{ type: 'dtmf', digit: '#' }]);
    expect(protocol.decode('{"event":"websocket:cleared"}')).toEqual([{ type: 'playback_cleared' }]);
    expect(protocol.decode('{"event":"websocket:notify","payload":{"name":"sb0.3"}}')).toEqual([
      { type: 'playback_ack', name: 'sb0.3' },
    ]);
  });

  it('encodes audio as 20 ms binary messages, clear, and marks as notify', () => {
    const protocol = started();
    const audio = protocol.encode({ type: 'audio', payload: bytes(1920) });
    expect(audio.map((f) => (f as Uint8Array).byteLength)).toEqual([640, 640, 640]);
    expect(audio.every((f) => f instanceof Uint8Array)).toBe(true);
    expect(protocol.encode({ type: 'clear' })).toEqual(['{"action":"clear"}']);
    expect(protocol.encode({ type: 'mark', name: 'sb0.1' })).toEqual([
      '{"action":"notify","payload":{"name":"sb0.1"}}',
    ]);
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);

    const narrow = new RawWebSocketProtocol('vonage');
    narrow.decode('{"event":"websocket:connected","content-type":"audio/l16;rate=8000"}');
    expect(narrow.encode({ type: 'audio', payload: bytes(640) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      320, 320,
    ]);
  });

  it('throws a ProtocolError for bad input', () => {
    const fresh = new RawWebSocketProtocol('vonage');
    expect(thrown(() => fresh.decode(bytes(640))).message).toMatch(/audio before the call started/);
    expect(thrown(() => fresh.decode('{"event":"websocket:dtmf","digit":"1"}')).message).toMatch(
      /before the call started/,
    );
    const protocol = started();
    expect(thrown(() => protocol.decode(bytes(641))).message).toMatch(/2 bytes per sample/);
    expect(thrown(() => protocol.decode(bytes(65537))).message).toMatch(/larger than the 65536-byte limit/);
    expect(thrown(() => protocol.decode('this is not json')).message).toMatch(/not valid JSON/);
    expect(thrown(() => protocol.decode('[1,2]')).message).toMatch(/not a JSON object/);
    expect(thrown(() => protocol.decode('{"event":"websocket:bogus"}')).message).toMatch(/unknown event/);
    expect(thrown(() => protocol.decode('{"digit":"1"}')).message).toMatch(/"event"/);
    expect(thrown(() => protocol.decode('{"event":"websocket:dtmf","digit":5}')).message).toMatch(/digit/);
    expect(thrown(() => protocol.decode('{"event":"websocket:dtmf","digit":"5","duration":"long"}')).message).toMatch(
      /"duration" must be a number/,
    );
    expect(thrown(() => protocol.decode('{"event":"websocket:notify","payload":{}}')).message).toMatch(/payload.name/);
    const error = thrown(() => protocol.decode('{"event":"websocket:bogus"}'));
    expect(error.provider).toBe('vonage');
    expect(error.frameExcerpt).toBe('{"event":"websocket:bogus"}');
  });
});

describe('asterisk', () => {
  const textStart = 'MEDIA_START connection_id:abc channel:PJSIP/1-0001 format:ulaw optimal_frame_size:160 ptime:20';
  const jsonStart = (format = 'ulaw') =>
    JSON.stringify({
      event: 'MEDIA_START',
      connection_id: '3b9f8d2e-2f45-4b0e-9c1f-7a7c1e9f2d11',
      channel: 'WebSocket/media_connection1/0x7f3c2c01e2a0',
      channel_id: '1761245643.1',
      format,
      optimal_frame_size: 160,
      ptime: 20,
      channel_variables: { CALLERID_NUM: '1001', CUSTOMER: 'acme' },
    });

  it('declares no acks, pacing and the 65500-byte message limit', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 20, maxBytes: ASTERISK_MAX_MESSAGE_BYTES },
      pacing: { leadMs: 1000 },
    });
    expect(protocol.defaultFormat).toEqual(PCMU);
  });

  it('decodes the plain-text MEDIA_START', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    expect(protocol.decode(textStart)).toEqual([
      {
        type: 'call_start',
        streamId: 'abc',
        callId: 'PJSIP/1-0001',
        format: PCMU,
        customParameters: {},
        raw: {
          event: 'MEDIA_START',
          connection_id: 'abc',
          channel: 'PJSIP/1-0001',
          format: 'ulaw',
          optimal_frame_size: '160',
          ptime: '20',
        },
      },
    ]);
  });

  it('decodes the JSON MEDIA_START with its channel id and variables', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    expect(protocol.decode(jsonStart())).toEqual([
      {
        type: 'call_start',
        streamId: '3b9f8d2e-2f45-4b0e-9c1f-7a7c1e9f2d11',
        callId: '1761245643.1',
        format: PCMU,
        customParameters: { CALLERID_NUM: '1001', CUSTOMER: 'acme' },
        raw: JSON.parse(jsonStart()),
      },
    ]);
  });

  it('maps ulaw, alaw and slin formats and refuses others with a clear message', () => {
    const formatOf = (name: string) =>
      (new RawWebSocketProtocol('asterisk').decode(jsonStart(name))[0] as { format: unknown }).format;
    expect(formatOf('alaw')).toEqual({ encoding: 'pcma', sampleRate: 8000, channels: 1 });
    expect(formatOf('slin')).toEqual(L16_8K);
    expect(formatOf('slin16')).toEqual(L16_16K);
    expect(formatOf('slin24')).toEqual({ encoding: 'l16', sampleRate: 24000, channels: 1 });
    expect(formatOf('slin48')).toEqual({ encoding: 'l16', sampleRate: 48000, channels: 1 });
    const error = thrown(() => new RawWebSocketProtocol('asterisk').decode(textStart.replace('ulaw', 'opus')));
    expect(error.message).toMatch(/unsupported format "opus"/);
    expect(error.message).toMatch(/c\(ulaw\)/);
    expect(thrown(() => new RawWebSocketProtocol('asterisk').decode(jsonStart('g722'))).message).toMatch(/g722/);
  });

  it('decodes DTMF and flow control in both forms, and ignores status notifications', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    protocol.decode(textStart);
    expect(protocol.decode('DTMF_END digit:5')).toEqual([{ type: 'dtmf', digit: '5' }]);
    expect(protocol.decode('{"event":"DTMF_END","digit":"#"}')).toEqual([{ type: 'dtmf', digit: '#' }]);
    expect(protocol.decode('MEDIA_XOFF')).toEqual([{ type: 'flow_control', paused: true }]);
    expect(protocol.decode('{"event":"MEDIA_XON"}')).toEqual([{ type: 'flow_control', paused: false }]);
    expect(
      protocol.decode(
        'STATUS queue_length:43 xon_level:800 xoff_level:900 queue_full:false bulk_media:true media_paused:false',
      ),
    ).toEqual([]);
    expect(protocol.decode('QUEUE_DRAINED')).toEqual([]);
    expect(protocol.decode('MEDIA_BUFFERING_COMPLETED reply-7')).toEqual([]);
    expect(protocol.decode('{"event":"MEDIA_BUFFERING_COMPLETED","correlation_id":"reply-7"}')).toEqual([]);
  });

  it('answers in the form MEDIA_START used: FLUSH_MEDIA for clear, HANGUP for hang-up', () => {
    const text = new RawWebSocketProtocol('asterisk');
    text.decode(textStart);
    expect(text.encode({ type: 'clear' })).toEqual(['FLUSH_MEDIA']);
    expect(text.encode({ type: 'hangup' })).toEqual(['HANGUP']);
    expect(text.encode({ type: 'mark', name: 'm' })).toEqual([]);
    const json = new RawWebSocketProtocol('asterisk');
    json.decode(jsonStart());
    expect(json.encode({ type: 'clear' })).toEqual(['{"command":"FLUSH_MEDIA"}']);
    expect(json.encode({ type: 'hangup' })).toEqual(['{"command":"HANGUP"}']);
  });

  it('frames audio in the dialed codec: 160 B of ulaw, 640 B of slin16', () => {
    const ulaw = new RawWebSocketProtocol('asterisk');
    ulaw.decode(textStart);
    expect(ulaw.decode(bytes(161))).toHaveLength(1); // odd is fine for G.711
    expect(ulaw.encode({ type: 'audio', payload: bytes(480) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      160, 160, 160,
    ]);
    const slin16 = new RawWebSocketProtocol('asterisk');
    slin16.decode(jsonStart('slin16'));
    expect(slin16.encode({ type: 'audio', payload: bytes(1280) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      640, 640,
    ]);
    expect(thrown(() => slin16.decode(bytes(639))).message).toMatch(/2 bytes per sample/);
  });

  it('throws a ProtocolError for bad input', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    expect(thrown(() => protocol.decode('DTMF_END digit:1')).message).toMatch(/before the call started/);
    protocol.decode(textStart);
    expect(thrown(() => protocol.decode(bytes(ASTERISK_MAX_MESSAGE_BYTES + 1))).message).toMatch(/65500-byte limit/);
    expect(thrown(() => protocol.decode('this is not json')).message).toMatch(/not a chan_websocket control message/);
    expect(thrown(() => protocol.decode('SOMETHING_NEW x:1')).message).toMatch(
      /unknown control message "SOMETHING_NEW"/,
    );
    expect(thrown(() => protocol.decode('{"event":"media"}')).message).toMatch(/unknown control message "media"/);
    expect(thrown(() => protocol.decode('{"event":42}')).message).toMatch(/"event"/);
    expect(thrown(() => protocol.decode('{"event":"DTMF_END"')).message).toMatch(/not valid JSON/);
    expect(thrown(() => protocol.decode('DTMF_END digit:x')).message).toMatch(/digit/);
    expect(
      thrown(() =>
        new RawWebSocketProtocol('asterisk').decode(JSON.stringify({ event: 'MEDIA_START', channel_variables: [1] })),
      ).message,
    ).toMatch(/channel_variables/);
  });
});

describe('jambonz', () => {
  const metadata = {
    callSid: 'b5f9bd9c-5d2c-4e51-8d1f-2b6e3c1a7f10',
    direction: 'inbound',
    from: '+15085551212',
    to: '+15085551313',
    callId: '7e3c2a10-7a2d-123e-8bfa-0242ac110003',
    sipStatus: 200,
    callStatus: 'in-progress',
    accountSid: 'fef61e75-cec3-496c-a7bc-8368e4d6dc4e',
    applicationSid: '0b5b4f2e-7a3c-4b7f-9a51-4ad0a3f5c6a9',
    sampleRate: 16000,
    mixType: 'mono',
    customerId: 'c-42',
  };

  it('declares no acks, pacing, killAudio as clear and an L16 8 kHz default', () => {
    const protocol = new RawWebSocketProtocol('jambonz');
    expect(protocol.capabilities).toMatchObject({
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      pacing: { leadMs: 1000 },
    });
    expect(protocol.defaultFormat).toEqual(L16_8K);
  });

  it('turns the metadata frame into call_start with the sample rate and the other fields as parameters', () => {
    const protocol = new RawWebSocketProtocol('jambonz');
    expect(protocol.decode(JSON.stringify(metadata))).toEqual([
      {
        type: 'call_start',
        streamId: metadata.callSid,
        callId: metadata.callSid,
        from: '+15085551212',
        to: '+15085551313',
        format: L16_16K,
        customParameters: {
          direction: 'inbound',
          callId: metadata.callId,
          sipStatus: '200',
          callStatus: 'in-progress',
          accountSid: metadata.accountSid,
          applicationSid: metadata.applicationSid,
          customerId: 'c-42',
        },
        raw: metadata,
      },
    ]);
  });

  it('defaults to 8 kHz when the metadata has no sampleRate (mod_audio_fork metadata is free-form)', () => {
    const [event] = new RawWebSocketProtocol('jambonz').decode('{"callid":"fs-1","to":"6173333456"}');
    expect(event).toMatchObject({ format: L16_8K, to: '6173333456', customParameters: { callid: 'fs-1' } });
  });

  it('decodes passDtmf digits (duration in 8 kHz samples) and ignores playDone', () => {
    const protocol = new RawWebSocketProtocol('jambonz');
    protocol.decode(JSON.stringify(metadata));
    expect(protocol.decode('{"event":"dtmf","dtmf":"5","duration":"1600"}')).toEqual([
      { type: 'dtmf', digit: '5', durationMs: 200 },
    ]);
    expect(protocol.decode('{"type":"playDone","data":{"id":"greeting"}}')).toEqual([]);
  });

  it('encodes killAudio for clear and disconnect for hang-up', () => {
    const protocol = new RawWebSocketProtocol('jambonz');
    protocol.decode(JSON.stringify(metadata));
    expect(protocol.encode({ type: 'clear' })).toEqual(['{"type":"killAudio"}']);
    expect(protocol.encode({ type: 'hangup' })).toEqual(['{"type":"disconnect"}']);
    expect(protocol.encode({ type: 'mark', name: 'x' })).toEqual([]);
    expect(protocol.encode({ type: 'audio', payload: bytes(1280) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      640, 640,
    ]);
  });

  it('throws a ProtocolError for bad input', () => {
    const fresh = new RawWebSocketProtocol('jambonz');
    expect(thrown(() => fresh.decode(bytes(320))).message).toMatch(/audio before the call started/);
    expect(thrown(() => fresh.decode(JSON.stringify({ ...metadata, sampleRate: 11025 }))).message).toMatch(
      /sampleRate 11025/,
    );
    expect(thrown(() => fresh.decode(JSON.stringify({ ...metadata, mixType: 'stereo' }))).message).toMatch(
      /mixType "stereo"/,
    );
    expect(thrown(() => fresh.decode(JSON.stringify({ ...metadata, callSid: 7 }))).message).toMatch(
      /"callSid" must be a string/,
    );
    const protocol = new RawWebSocketProtocol('jambonz');
    protocol.decode(JSON.stringify(metadata));
    expect(thrown(() => protocol.decode('{"event":"dtmf"}')).message).toMatch(/digit/);
    expect(thrown(() => protocol.decode('{"type":"transcription"}')).message).toMatch(/unknown type "transcription"/);
    expect(thrown(() => protocol.decode('not json')).message).toMatch(/not valid JSON/);
  });
});

describe('generic', () => {
  const start = JSON.stringify({
    type: 'start',
    streamId: 'st-1',
    callId: 'call-1',
    from: '+15550001111',
    to: '+15550002222',
    format: { encoding: 'l16', sampleRate: 24000 },
    metadata: { tenant: 'acme', attempt: 2 },
  });

  it('declares mark acks, confirmed clears, DTMF both ways and no pacing by default', () => {
    const protocol = new RawWebSocketProtocol('generic');
    expect(protocol.capabilities).toEqual({
      playbackAck: 'mark',
      ackOnClear: 'confirm',
      clear: true,
      dtmfIn: true,
      dtmfOut: true,
      frame: { ms: 20, maxBytes: 65536 },
    });
  });

  it('decodes start, dtmf, mark, cleared and stop', () => {
    const protocol = new RawWebSocketProtocol('generic');
    expect(protocol.decode(start)).toEqual([
      {
        type: 'call_start',
        streamId: 'st-1',
        callId: 'call-1',
        from: '+15550001111',
        to: '+15550002222',
        format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
        customParameters: { tenant: 'acme', attempt: '2' },
        raw: JSON.parse(start),
      },
    ]);
    expect(protocol.decode('{"type":"dtmf","digit":"9","durationMs":80}')).toEqual([
      { type: 'dtmf', digit: '9', durationMs: 80 },
    ]);
    expect(protocol.decode('{"type":"mark","name":"sb0.2"}')).toEqual([{ type: 'playback_ack', name: 'sb0.2' }]);
    expect(protocol.decode('{"type":"cleared"}')).toEqual([{ type: 'playback_cleared' }]);
    expect(protocol.decode('{"type":"stop","reason":"caller hung up"}')).toEqual([
      { type: 'call_end', reason: 'caller hung up' },
    ]);
    expect(protocol.decode('{"type":"stop"}')).toEqual([{ type: 'call_end' }]);
  });

  it('uses the configured format when start names none', () => {
    const protocol = new RawWebSocketProtocol({ preset: 'generic', format: PCMU });
    expect(protocol.decode('{"type":"start","callId":"c"}')[0]).toMatchObject({ streamId: 'c', format: PCMU });
    expect(protocol.encode({ type: 'audio', payload: bytes(400) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      160, 160, 80,
    ]);
  });

  it('encodes mark, clear, hangup and dtmf', () => {
    const protocol = new RawWebSocketProtocol('generic');
    protocol.decode(start);
    expect(protocol.encode({ type: 'mark', name: 'sb0.1' })).toEqual(['{"type":"mark","name":"sb0.1"}']);
    expect(protocol.encode({ type: 'clear' })).toEqual(['{"type":"clear"}']);
    expect(protocol.encode({ type: 'hangup' })).toEqual(['{"type":"hangup"}']);
    expect(protocol.encode({ type: 'dtmf', digits: '12#' })).toEqual(['{"type":"dtmf","digits":"12#"}']);
    expect(protocol.encode({ type: 'dtmf', digits: 'hello' })).toEqual([]);
    expect(protocol.encode({ type: 'audio', payload: bytes(1920) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      960, 960,
    ]);
  });

  it('throws a ProtocolError for bad input', () => {
    const protocol = new RawWebSocketProtocol('generic');
    expect(thrown(() => protocol.decode('{"type":"mark","name":"x"}')).message).toMatch(/before the call started/);
    expect(
      thrown(() => protocol.decode('{"type":"start","format":{"encoding":"opus","sampleRate":48000}}')).message,
    ).toMatch(/format.encoding/);
    expect(
      thrown(() => protocol.decode('{"type":"start","format":{"encoding":"l16","sampleRate":"16000"}}')).message,
    ).toMatch(/sampleRate/);
    expect(
      thrown(() => protocol.decode('{"type":"start","format":{"encoding":"pcmu","sampleRate":16000}}')).message,
    ).toMatch(/unsupported format pcmu@16000/);
    expect(thrown(() => protocol.decode('{"type":"start","metadata":"x"}')).message).toMatch(/metadata/);
    protocol.decode(start);
    expect(thrown(() => protocol.decode('{"type":"bogus"}')).message).toMatch(/unknown type "bogus"/);
    expect(thrown(() => protocol.decode('{"event":"media"}')).message).toMatch(/"type"/);
    expect(thrown(() => protocol.decode('{"type":"mark"}')).message).toMatch(/name/);
    expect(thrown(() => protocol.decode('{"type":"dtmf","digit":"5","durationMs":"soon"}')).message).toMatch(
      /durationMs/,
    );
    expect(thrown(() => protocol.decode(bytes(3))).message).toMatch(/2 bytes per sample/);
  });
});

describe('startOn: connect', () => {
  it('starts the call when the socket opens, once, in the configured format', () => {
    const protocol = new RawWebSocketProtocol({ preset: 'generic', startOn: 'connect', format: PCMU });
    expect(protocol.started).toBe(true);
    expect(protocol.decode(bytes(160))).toHaveLength(1);
    const events = protocol.open();
    expect(events).toEqual([
      {
        type: 'call_start',
        streamId: expect.stringMatching(/^generic-/),
        format: PCMU,
        customParameters: {},
        raw: null,
      },
    ]);
    expect(protocol.open()).toEqual([]);
    expect(protocol.decode('{"type":"dtmf","digit":"1"}')).toEqual([{ type: 'dtmf', digit: '1' }]);
  });

  it('implies nothing on open for a call that starts with a message', () => {
    expect(new RawWebSocketProtocol('vonage').open()).toEqual([]);
  });
});

describe('options', () => {
  it('splits audio into frames of frameMs', () => {
    const protocol = new RawWebSocketProtocol({ preset: 'asterisk', frameMs: 40 });
    protocol.decode('MEDIA_START connection_id:a channel:c format:ulaw');
    expect(protocol.capabilities.frame).toEqual({ ms: 40, maxBytes: ASTERISK_MAX_MESSAGE_BYTES });
    expect(protocol.encode({ type: 'audio', payload: bytes(640) }).map((f) => (f as Uint8Array).byteLength)).toEqual([
      320, 320,
    ]);
  });

  it('rejects bad options with a ConfigError', () => {
    expect(() => new RawWebSocketProtocol('sip' as 'vonage')).toThrow(ConfigError);
    expect(() => new RawWebSocketProtocol({} as { preset: 'vonage' })).toThrow(/preset/);
    expect(
      () =>
        new RawWebSocketProtocol({ preset: 'generic', format: { encoding: 'l16', sampleRate: 11025, channels: 1 } }),
    ).toThrow(/format/);
    expect(
      () =>
        new RawWebSocketProtocol({ preset: 'generic', format: { encoding: 'pcmu', sampleRate: 16000, channels: 1 } }),
    ).toThrow(ConfigError);
    expect(() => new RawWebSocketProtocol({ preset: 'generic', frameMs: 0 })).toThrow(/frameMs/);
    expect(() => new RawWebSocketProtocol({ preset: 'generic', frameMs: 2.5 })).toThrow(/frameMs/);
    expect(() => new RawWebSocketProtocol({ preset: 'generic', maxMessageBytes: 1000 })).toThrow(/maxMessageBytes/);
    expect(() => new RawWebSocketProtocol({ preset: 'generic', leadMs: -5 })).toThrow(/leadMs/);
    expect(() => new RawWebSocketProtocol({ preset: 'generic', startOn: 'later' as 'connect' })).toThrow(/startOn/);
  });

  it('takes a preset object of your own', () => {
    const hello: RawWebSocketPreset = {
      name: 'hello',
      defaultFormat: PCMU,
      startOn: 'message',
      capabilities: { playbackAck: 'none', ackOnClear: 'none', clear: false, dtmfIn: false, dtmfOut: false },
      decodeControl: (text) => {
        if (text !== 'HELLO') throw new ProtocolError('hello', 'say HELLO');
        return [{ type: 'call_start', streamId: 'h', format: PCMU, customParameters: {}, raw: text }];
      },
      encodeControl: () => [],
      peer: { encodeEvent: () => ['HELLO'], decodeControl: () => [] },
    };
    const protocol = new RawWebSocketProtocol({ preset: hello, leadMs: 500 });
    expect(protocol.name).toBe('hello');
    expect(protocol.capabilities.pacing).toEqual({ leadMs: 500 });
    expect(protocol.decode('HELLO')).toHaveLength(1);
    expect(protocol.decode(bytes(160))).toHaveLength(1);
  });

  it('gives the raw event JSON parsed, plain text and binary frames as they are', () => {
    const protocol = new RawWebSocketProtocol('asterisk');
    expect(protocol.rawMessage('{"event":"MEDIA_XON"}')).toEqual({ event: 'MEDIA_XON' });
    expect(protocol.rawMessage('MEDIA_XON')).toBe('MEDIA_XON');
    const frame = bytes(4);
    expect(protocol.rawMessage(frame)).toBe(frame);
  });
});

describe('preset helpers', () => {
  it('readCallStart takes the stream id from its field, else the call id, else a fresh one, and round-trips with callFields', () => {
    const format = L16_16K;
    const message = { id: 'c-1', from: '+1555', to: '+1666', extra: 'x' };
    const start = readCallStart('hello', message, '{}', { callId: 'id', format, customParameters: { extra: 'x' } });
    expect(start).toEqual({
      type: 'call_start',
      streamId: 'c-1',
      callId: 'c-1',
      from: '+1555',
      to: '+1666',
      format,
      customParameters: { extra: 'x' },
      raw: message,
    });
    expect(callFields(start, 'id')).toEqual({ id: 'c-1', from: '+1555', to: '+1666' });
    expect(
      readCallStart('hello', { id: 'c-1', sid: 's-1' }, '{}', {
        callId: 'id',
        streamId: 'sid',
        format,
        customParameters: {},
      }).streamId,
    ).toBe('s-1');
    const anonymous = readCallStart('hello', {}, '{}', { callId: 'id', format, customParameters: {} });
    expect(anonymous.streamId).toMatch(/^hello-/);
    expect(anonymous).not.toHaveProperty('callId');
    expect(callFields(anonymous, 'id')).toEqual({});
    expect(
      thrown(() => readCallStart('hello', { id: 7 }, '{"id":7}', { callId: 'id', format, customParameters: {} }))
        .message,
    ).toMatch(/"id" must be a string/);
  });

  it('readDtmf reads the digit and a duration in the carrier’s unit, and refuses a bad digit or duration', () => {
    expect(readDtmf('hello', { d: '5', t: '1600' }, '{}', { digit: 'd', duration: 't', unitsPerMs: 8 })).toEqual({
      type: 'dtmf',
      digit: '5',
      durationMs: 200,
    });
    expect(readDtmf('hello', { d: 'a' }, '{}', { digit: 'd', duration: 't' })).toEqual({ type: 'dtmf', digit: 'A' });
    expect(thrown(() => readDtmf('hello', { d: '55' }, '{}', { digit: 'd', duration: 't' })).message).toMatch(/digit/);
    expect(thrown(() => readDtmf('hello', { d: '5', t: 'long' }, '{}', { digit: 'd', duration: 't' })).message).toMatch(
      /"t" must be a number/,
    );
  });
});
