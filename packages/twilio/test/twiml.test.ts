import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { connectStreamTwiml, escapeXml } from '../src/twiml.js';

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';

describe('connectStreamTwiml', () => {
  it('connects the call to the stream URL', () => {
    expect(connectStreamTwiml({ url: 'wss://voice.example.com/media' })).toBe(
      `${XML_DECL}<Response><Connect><Stream url="wss://voice.example.com/media"/></Connect></Response>`,
    );
  });

  it('adds a greeting, stream attributes and parameters in order', () => {
    const twiml = connectStreamTwiml({
      url: 'wss://voice.example.com/media',
      say: 'Connecting you now.',
      name: 'agent-stream',
      statusCallback: 'https://voice.example.com/stream-status',
      statusCallbackMethod: 'GET',
      parameters: { tenant: 'acme', customerId: '42' },
    });
    expect(twiml).toBe(
      `${XML_DECL}<Response><Say>Connecting you now.</Say><Connect>` +
        '<Stream url="wss://voice.example.com/media" name="agent-stream" statusCallback="https://voice.example.com/stream-status" statusCallbackMethod="GET">' +
        '<Parameter name="tenant" value="acme"/><Parameter name="customerId" value="42"/>' +
        '</Stream></Connect></Response>',
    );
  });

  it('escapes every attribute and the spoken text', () => {
    const twiml = connectStreamTwiml({
      url: 'wss://voice.example.com/a&b',
      say: 'Tom & Jerry <say> "hi" \'there\'',
      name: 'n"1',
      parameters: { 'k<1>': 'v&"\'\nx' },
    });
    expect(twiml).toContain('<Stream url="wss://voice.example.com/a&amp;b" name="n&quot;1">');
    expect(twiml).toContain('<Say>Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; &apos;there&apos;</Say>');
    expect(twiml).toContain('<Parameter name="k&lt;1&gt;" value="v&amp;&quot;&apos;&#10;x"/>');
    expect(twiml).not.toMatch(/="[^"]*</);
  });

  it('allows ws:// on localhost and 127.0.0.1 for offline use', () => {
    expect(connectStreamTwiml({ url: 'ws://localhost:8080/media' })).toContain('url="ws://localhost:8080/media"');
    expect(connectStreamTwiml({ url: 'ws://127.0.0.1:8080/media' })).toContain('url="ws://127.0.0.1:8080/media"');
  });

  it.each([
    ['ws:// on a public host', 'ws://voice.example.com/media', /wss/],
    ['https://', 'https://voice.example.com/media', /wss/],
    ['a relative URL', '/media', /absolute/],
    ['an empty URL', '', /required/],
    ['a fragment', 'wss://voice.example.com/media#x', /fragment/],
  ])('rejects %s', (_label, url, message) => {
    expect(() => connectStreamTwiml({ url })).toThrow(ConfigError);
    expect(() => connectStreamTwiml({ url })).toThrow(message);
  });

  it('rejects a query string and points to parameters instead', () => {
    expect(() => connectStreamTwiml({ url: 'wss://voice.example.com/media?tenant=acme' })).toThrow(ConfigError);
    expect(() => connectStreamTwiml({ url: 'wss://voice.example.com/media?tenant=acme' })).toThrow(/parameters/);
  });

  it('enforces Twilio’s limit of under 500 characters for a parameter name plus value', () => {
    const name = 'note';
    const fits = 'x'.repeat(499 - name.length);
    expect(connectStreamTwiml({ url: 'wss://h.example/m', parameters: { [name]: fits } })).toContain(`value="${fits}"`);
    const tooLong = 'x'.repeat(500 - name.length);
    expect(() => connectStreamTwiml({ url: 'wss://h.example/m', parameters: { [name]: tooLong } })).toThrow(
      ConfigError,
    );
  });

  it('rejects a non-string parameter value, an empty name and a bad status callback', () => {
    const url = 'wss://h.example/m';
    expect(() => connectStreamTwiml({ url, parameters: { n: 5 as unknown as string } })).toThrow(ConfigError);
    expect(() => connectStreamTwiml({ url, parameters: { '': 'v' } })).toThrow(ConfigError);
    expect(() => connectStreamTwiml({ url, statusCallback: 'ftp://h.example/s' })).toThrow(ConfigError);
    expect(() => connectStreamTwiml({ url, statusCallbackMethod: 'PUT' as 'GET' })).toThrow(ConfigError);
  });

  it('rejects characters XML cannot carry', () => {
    expect(() => connectStreamTwiml({ url: 'wss://h.example/m', say: 'bell \u0007' })).toThrow(ConfigError);
    expect(() => escapeXml('half \uD800 pair')).toThrow(ConfigError);
    expect(escapeXml('emoji \u{1F600} ok')).toBe('emoji \u{1F600} ok');
  });
});
