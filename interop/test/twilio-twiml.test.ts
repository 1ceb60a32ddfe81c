/**
 * `connectStreamTwiml` against the official `twilio` library's `twiml.VoiceResponse` building the
 * same document. The two are parsed and compared as trees (element names, attributes, children,
 * text), so attribute order, quoting, self-closing tags and how a character is escaped do not
 * matter; what a TwiML parser reads does.
 *
 * Not offered on purpose: `track`. `connectStreamTwiml` writes a bidirectional
 * `<Connect><Stream>`, which only carries the inbound track (the attribute is for unidirectional
 * `<Start><Stream>`).
 */
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { connectStreamTwiml, type ConnectStreamTwimlOptions } from '@switchboard/twilio';
import { parseXml } from './support/xml-tree.js';

/** The library's document for the same options. */
function sdkTwiml(options: ConnectStreamTwimlOptions): string {
  const response = new twilio.twiml.VoiceResponse();
  if (options.say) response.say(options.say);
  const attributes: Parameters<ReturnType<typeof response.connect>['stream']>[0] = { url: options.url };
  if (options.name !== undefined) attributes.name = options.name;
  if (options.statusCallback !== undefined) attributes.statusCallback = options.statusCallback;
  if (options.statusCallbackMethod !== undefined) attributes.statusCallbackMethod = options.statusCallbackMethod;
  const stream = response.connect().stream(attributes);
  for (const [name, value] of Object.entries(options.parameters ?? {})) stream.parameter({ name, value });
  return response.toString();
}

const CASES: Array<[string, ConnectStreamTwimlOptions]> = [
  ['the bare stream', { url: 'wss://voice.example.com/media-stream' }],
  [
    'name, status callback and its method, parameters',
    {
      url: 'wss://voice.example.com/media-stream',
      name: 'agent-stream',
      statusCallback: 'https://voice.example.com/stream-status?tenant=acme&x=1',
      statusCallbackMethod: 'GET',
      parameters: { tenant: 'acme', callerName: 'Jane Doe', empty: '' },
    },
  ],
  ['a greeting first', { url: 'wss://voice.example.com/media', say: 'Please hold while I connect you.' }],
  [
    'text and values that need escaping',
    {
      url: 'wss://voice.example.com/media/a&b',
      name: `"quoted" <name> & 'apostrophes'`,
      say: 'Tom & Jerry <3 "you"',
      parameters: { 'a&b': `x<y>"z"'w'`, multiline: 'line one\nline two\ttabbed\r\n', unicode: 'héllo ✓ 你好 😀' },
    },
  ],
  ['ws:// on localhost (development)', { url: 'ws://localhost:5050/media', statusCallbackMethod: 'POST' }],
];

describe('connectStreamTwiml builds what twiml.VoiceResponse builds', () => {
  for (const [title, options] of CASES) {
    it(title, () => {
      const ours = parseXml(connectStreamTwiml(options));
      const theirs = parseXml(sdkTwiml(options));
      expect(ours).toEqual(theirs);
    });
  }

  it('the parameters arrive in the order given, as <Parameter name value/> children of <Stream>', () => {
    const parameters = { z: '1', a: '2', m: '3' };
    const tree = parseXml(connectStreamTwiml({ url: 'wss://voice.example.com/m', parameters }));
    const connect = tree.children[0] as ReturnType<typeof parseXml>;
    const stream = connect.children[0] as ReturnType<typeof parseXml>;
    expect(stream.name).toBe('Stream');
    expect(stream.children).toEqual(
      Object.entries(parameters).map(([name, value]) => ({
        name: 'Parameter',
        attributes: { name, value },
        children: [],
      })),
    );
  });

  it('both write an XML declaration with UTF-8', () => {
    const declaration = /^<\?xml version="1.0" encoding="UTF-8"\?>/;
    expect(connectStreamTwiml({ url: 'wss://voice.example.com/m' })).toMatch(declaration);
    expect(sdkTwiml({ url: 'wss://voice.example.com/m' })).toMatch(declaration);
  });
});
