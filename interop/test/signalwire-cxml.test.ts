/**
 * `connectStreamCxml` against `@signalwire/compatibility-api`'s `RestClient.LaML.VoiceResponse`
 * building the same cXML, compared as parsed trees (not strings). SignalWire's `<Stream>` takes
 * Twilio's attributes plus `codec`, `authBearerToken` and `realtime`; the library passes any
 * attribute through, so it builds them too.
 */
// The package's exports map names no types, so TypeScript does not find its declarations.
// @ts-expect-error -- untyped under moduleResolution "bundler"; the shape used is declared below
import * as signalwireSdk from '@signalwire/compatibility-api';
import { describe, expect, it } from 'vitest';
import { connectStreamCxml, type ConnectStreamCxmlOptions } from '@switchboard/twilio';
import { parseXml } from './support/xml-tree.js';

type Attributes = Record<string, string>;
interface LaMLStream {
  parameter(attributes: Attributes): unknown;
}
interface LaMLVoiceResponse {
  say(text: string): unknown;
  connect(): { stream(attributes: Attributes): LaMLStream };
  toString(): string;
}
/** The part of the library these tests call (see its compatibility-api.d.ts). */
type SignalWireCompatibility = { RestClient: { LaML: { VoiceResponse: new () => LaMLVoiceResponse } } };
const { RestClient } = signalwireSdk as unknown as SignalWireCompatibility;

function sdkCxml(options: ConnectStreamCxmlOptions): string {
  const response = new RestClient.LaML.VoiceResponse();
  if (options.say) response.say(options.say);
  const attributes: Attributes = { url: options.url };
  if (options.name !== undefined) attributes['name'] = options.name;
  if (options.statusCallback !== undefined) attributes['statusCallback'] = options.statusCallback;
  if (options.statusCallbackMethod !== undefined) attributes['statusCallbackMethod'] = options.statusCallbackMethod;
  if (options.codec !== undefined) attributes['codec'] = options.codec;
  if (options.authBearerToken !== undefined) attributes['authBearerToken'] = options.authBearerToken;
  if (options.realtime !== undefined) attributes['realtime'] = String(options.realtime);
  const stream = response.connect().stream(attributes);
  for (const [name, value] of Object.entries(options.parameters ?? {})) stream.parameter({ name, value });
  return response.toString();
}

const CASES: Array<[string, ConnectStreamCxmlOptions]> = [
  ['the bare stream (PCMU@8000h by default, no codec attribute)', { url: 'wss://agent.example.com/media' }],
  [
    'a wideband stream with a bearer token and realtime',
    { url: 'wss://agent.example.com/media', codec: 'L16@16000h', authBearerToken: 'tok_3f9a&<"x">', realtime: true },
  ],
  ['L16 at 24 kHz, realtime off', { url: 'wss://agent.example.com/media', codec: 'L16@24000h', realtime: false }],
  [
    'every common attribute, parameters and a greeting',
    {
      url: 'wss://agent.example.com/media',
      name: 'sw-agent',
      statusCallback: 'https://agent.example.com/status?a=1&b=2',
      statusCallbackMethod: 'POST',
      say: 'Connecting you to the assistant & friends.',
      parameters: { tenant: 'acme', note: `quotes " and ' and <tags>`, multiline: 'a\nb\tc' },
      codec: 'PCMU@8000h',
    },
  ],
];

describe('connectStreamCxml builds what the SignalWire library’s VoiceResponse builds', () => {
  for (const [title, options] of CASES) {
    it(title, () => {
      expect(parseXml(connectStreamCxml(options))).toEqual(parseXml(sdkCxml(options)));
    });
  }
});
