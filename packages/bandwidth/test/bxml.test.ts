import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import {
  bandwidthStreamBxml,
  bandwidthTransferBxml,
  bxmlResponse,
  bxmlStartStream,
  type BandwidthStreamBxmlOptions,
} from '../src/index.js';

const XML = '<?xml version="1.0" encoding="UTF-8"?>';

describe('bandwidthStreamBxml', () => {
  it('starts a bidirectional stream of the caller and holds the call until the stream ends', () => {
    expect(bandwidthStreamBxml({ url: 'wss://agent.example.com/bandwidth/media' })).toBe(
      `${XML}<Response><StartStream name="agent" mode="bidirectional" tracks="inbound" destination="wss://agent.example.com/bandwidth/media"/>` +
        '<StopStream name="agent" wait="true"/></Response>',
    );
  });

  it('writes params, upgrade credentials and stream events, escaping every value', () => {
    const bxml = bandwidthStreamBxml({
      url: 'wss://agent.example.com/media?a=1&b=2',
      name: 'call "one"',
      tracks: 'both',
      params: { customer: "O'Brien & <Sons>", plan: 'gold' },
      username: 'bw',
      password: 'p&ss"word',
      eventUrl: 'https://agent.example.com/stream-events',
      eventMethod: 'POST',
    });
    expect(bxml).toBe(
      `${XML}<Response><StartStream name="call &quot;one&quot;" mode="bidirectional" tracks="both" ` +
        'destination="wss://agent.example.com/media?a=1&amp;b=2" destinationUsername="bw" destinationPassword="p&amp;ss&quot;word" ' +
        'streamEventUrl="https://agent.example.com/stream-events" streamEventMethod="POST">' +
        '<StreamParam name="customer" value="O&apos;Brien &amp; &lt;Sons&gt;"/><StreamParam name="plan" value="gold"/>' +
        '</StartStream><StopStream name="call &quot;one&quot;" wait="true"/></Response>',
    );
  });

  it('keeps tabs and new lines (as character references) and characters beyond the BMP', () => {
    expect(bxmlStartStream({ url: 'wss://a.example.com', params: { note: 'a\tb\nc 😀 é' } })).toContain(
      '<StreamParam name="note" value="a&#9;b&#10;c 😀 é"/>',
    );
  });

  it('leaves the rest of the call to the caller of bxmlResponse with hold false', () => {
    const start = bxmlStartStream({ url: 'wss://a.example.com/m', name: 's1' });
    expect(bandwidthStreamBxml({ url: 'wss://a.example.com/m', name: 's1', hold: false })).toBe(bxmlResponse(start));
    expect(bxmlResponse(start, '<Pause duration="3600"/>')).toBe(
      `${XML}<Response>${start}<Pause duration="3600"/></Response>`,
    );
  });

  it.each<[string, BandwidthStreamBxmlOptions]>([
    ['an https URL', { url: 'https://a.example.com/m' }],
    ['a relative URL', { url: '/media' }],
    ['an empty name', { url: 'wss://a.example.com', name: '' }],
    ['unknown tracks', { url: 'wss://a.example.com', tracks: 'all' as 'both' }],
    ['a user without a password', { url: 'wss://a.example.com', username: 'u' }],
    ['an event URL that is not http(s)', { url: 'wss://a.example.com', eventUrl: 'wss://b.example.com' }],
    ['an event method other than POST or GET', { url: 'wss://a.example.com', eventMethod: 'PUT' as 'POST' }],
    [
      '13 params (Bandwidth takes 12)',
      { url: 'wss://a.example.com', params: Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`p${i}`, 'v'])) },
    ],
    ['a param name over 256 characters', { url: 'wss://a.example.com', params: { ['n'.repeat(257)]: 'v' } }],
    ['a param value over 2048 characters', { url: 'wss://a.example.com', params: { n: 'v'.repeat(2049) } }],
    ['a param value that is not a string', { url: 'wss://a.example.com', params: { n: 5 as unknown as string } }],
    ['a control character XML cannot carry', { url: 'wss://a.example.com', params: { n: 'a\u0001b' } }],
    ['a lone high surrogate', { url: 'wss://a.example.com', name: 'a\ud800' }],
    ['a lone low surrogate', { url: 'wss://a.example.com', name: '\udc00a' }],
    ['U+FFFE', { url: 'wss://a.example.com', name: 'a\ufffe' }],
  ])('refuses %s with a ConfigError', (_title, options) => {
    expect(() => bandwidthStreamBxml(options)).toThrow(ConfigError);
  });
});

describe('bandwidthTransferBxml', () => {
  it('transfers to a phone number, with caller id and timeout', () => {
    expect(bandwidthTransferBxml({ to: '+15550001111', callerId: '+15550002222', timeoutSeconds: 20 })).toBe(
      `${XML}<Response><Transfer transferCallerId="+15550002222" callTimeout="20"><PhoneNumber>+15550001111</PhoneNumber></Transfer></Response>`,
    );
  });

  it('transfers to a SIP URI, escaped', () => {
    expect(bandwidthTransferBxml({ to: 'sip:agent@pbx.example.com;transport=tls?x=1&y=2' })).toBe(
      `${XML}<Response><Transfer><SipUri>sip:agent@pbx.example.com;transport=tls?x=1&amp;y=2</SipUri></Transfer></Response>`,
    );
  });

  it.each([
    ['no target', { to: '  ' }],
    ['a timeout of 0', { to: '+15550001111', timeoutSeconds: 0 }],
    ['a timeout over 300 s', { to: '+15550001111', timeoutSeconds: 301 }],
  ])('refuses %s with a ConfigError', (_title, options) => {
    expect(() => bandwidthTransferBxml(options)).toThrow(ConfigError);
  });
});
