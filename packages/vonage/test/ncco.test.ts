import { ConfigError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { RawWebSocketProtocol } from '@switchboard/websocket';
import { VONAGE_MAX_HEADER_BYTES, connectWebSocketAction, connectWebSocketNcco, talkAction } from '../src/index.js';

describe('connectWebSocketAction', () => {
  it('builds the connect → websocket action of Vonage’s NCCO reference (L16 16 kHz by default)', () => {
    expect(connectWebSocketAction({ uri: 'wss://example.com/socket', headers: { app: 'demo' } })).toEqual({
      action: 'connect',
      endpoint: [
        {
          type: 'websocket',
          uri: 'wss://example.com/socket',
          'content-type': 'audio/l16;rate=16000',
          headers: { app: 'demo' },
        },
      ],
    });
  });

  it('takes 8 kHz, event options, and copies the answer webhook’s call fields into the headers', () => {
    const answer = new URLSearchParams({
      to: '447700900001',
      from: '447700900000',
      uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      conversation_uuid: 'CON-1',
      region_url: 'x',
    });
    const action = connectWebSocketAction({
      uri: 'ws://127.0.0.1:3000/socket',
      sampleRate: 8000,
      answer,
      headers: { tenant: 'acme', to: 'override' },
      eventUrl: 'https://example.com/webhooks/event',
      eventMethod: 'POST',
      eventType: 'synchronous',
    });
    expect(action).toEqual({
      action: 'connect',
      endpoint: [
        {
          type: 'websocket',
          uri: 'ws://127.0.0.1:3000/socket',
          'content-type': 'audio/l16;rate=8000',
          headers: {
            uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
            from: '447700900000',
            to: 'override',
            conversation_uuid: 'CON-1',
            tenant: 'acme',
          },
        },
      ],
      eventUrl: ['https://example.com/webhooks/event'],
      eventMethod: 'POST',
      eventType: 'synchronous',
    });
    // A POST answer webhook's JSON body works the same way.
    expect(
      connectWebSocketAction({ uri: 'wss://h.example/s', answer: { uuid: 'u-1', from: 123 } }).endpoint[0]!.headers,
    ).toEqual({ uuid: 'u-1' });
  });

  it('omits empty headers and refuses what Vonage would refuse', () => {
    expect(connectWebSocketAction({ uri: 'wss://h.example/s' }).endpoint[0]).not.toHaveProperty('headers');
    expect(() => connectWebSocketAction({ uri: 'https://h.example/s' })).toThrow(ConfigError);
    expect(() => connectWebSocketAction({ uri: '/socket' })).toThrow(/absolute/);
    expect(() => connectWebSocketAction({ uri: 'wss://h.example/s', sampleRate: 12000 as 16000 })).toThrow(
      /8000, 16000 or 24000/,
    );
    expect(() =>
      connectWebSocketAction({ uri: 'wss://h.example/s', headers: { big: 'x'.repeat(VONAGE_MAX_HEADER_BYTES) } }),
    ).toThrow(/512/);
    expect(() => connectWebSocketAction({ uri: 'wss://h.example/s', headers: { o: {} as string } })).toThrow(
      ConfigError,
    );
    expect(() => connectWebSocketAction({ uri: 'wss://h.example/s', eventUrl: 'ftp://h.example/e' })).toThrow(
      ConfigError,
    );
  });
});

describe('headers echoed on the socket', () => {
  it('a number the NCCO gives as a header still starts the call, as text', () => {
    // The helper takes numbers as header values; Vonage echoes them as JSON numbers.
    const action = connectWebSocketAction({
      uri: 'wss://example.com/socket',
      headers: { from: 447700900000, to: 447700900001, attempt: 2 },
    });
    const first = JSON.stringify({
      event: 'websocket:connected',
      'content-type': action.endpoint[0]!['content-type'],
      ...action.endpoint[0]!.headers,
    });
    const events = new RawWebSocketProtocol('vonage').decode(first);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'call_start',
      from: '447700900000',
      to: '447700900001',
      customParameters: { attempt: '2' },
      format: { encoding: 'l16', sampleRate: 16000 },
    });
  });
});

describe('24 kHz', () => {
  it('an endpoint at audio/l16;rate=24000 (offered by Vonage’s SDKs) is written, and its socket starts an L16 24 kHz call', () => {
    const action = connectWebSocketAction({ uri: 'wss://example.com/socket', sampleRate: 24000 });
    expect(action.endpoint[0]!['content-type']).toBe('audio/l16;rate=24000');
    const first = JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=24000', uuid: 'u-1' });
    const events = new RawWebSocketProtocol('vonage').decode(first);
    expect(events[0]).toMatchObject({
      type: 'call_start',
      callId: 'u-1',
      format: { encoding: 'l16', sampleRate: 24000 },
    });
    expect(() => new RawWebSocketProtocol('vonage').decode(first.replace('24000', '12000'))).toThrow(
      /unsupported rate/,
    );
  });
});

describe('talkAction and connectWebSocketNcco', () => {
  it('speaks first, then connects', () => {
    expect(connectWebSocketNcco({ uri: 'wss://h.example/s', say: 'Connecting you now.' })).toEqual([
      { action: 'talk', text: 'Connecting you now.' },
      {
        action: 'connect',
        endpoint: [{ type: 'websocket', uri: 'wss://h.example/s', 'content-type': 'audio/l16;rate=16000' }],
      },
    ]);
    expect(connectWebSocketNcco({ uri: 'wss://h.example/s' })).toHaveLength(1);
  });

  it('keeps the talk options given and checks them', () => {
    expect(
      talkAction({ text: 'Hi', language: 'en-GB', style: 2, bargeIn: true, loop: 1, level: 0.5, premium: false }),
    ).toEqual({
      action: 'talk',
      text: 'Hi',
      language: 'en-GB',
      style: 2,
      premium: false,
      bargeIn: true,
      loop: 1,
      level: 0.5,
    });
    expect(() => talkAction('')).toThrow(ConfigError);
    expect(() => talkAction({ text: 'x', level: 2 })).toThrow(/level/);
  });
});
