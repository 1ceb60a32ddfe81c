/**
 * The `<Stream>` answer of @switchboard/plivo's README against the `plivo` SDK's XML builder
 * (`plivo.Response().addStream`): the same element, attributes and URL once parsed, every
 * attribute one the SDK knows for `<Stream>` (it refuses others), and a `contentType` our
 * protocol reads as the format the stream will carry.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import plivo from 'plivo';
import { describe, expect, it } from 'vitest';
import { plivoEncoding, plivoTransferXml } from '@switchboard/plivo';

const HOST = 'agent.example.com';

type XmlNode = { [name: string]: unknown };
type ParseString = (
  xml: string,
  options: Record<string, unknown>,
  callback: (error: Error | null, result: XmlNode) => void,
) => void;

/** xml2js, as the plivo SDK depends on it: parses both documents the same way. */
const parseString = (
  createRequire(createRequire(import.meta.url).resolve('plivo'))('xml2js') as { parseString: ParseString }
).parseString;

function parse(xml: string): Promise<XmlNode> {
  return new Promise((resolve, reject) =>
    parseString(xml, { explicitArray: true }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** The answer the README's example sends, with `${publicHost}` filled in. */
function readmeStreamXml(): string {
  const readme = readFileSync(new URL('../../packages/plivo/README.md', import.meta.url), 'utf8');
  const match = /'(<Response><Stream[^']*)'\s*\+\s*`([^`]*<\/Response>)`/.exec(readme);
  if (!match)
    throw new Error('the README no longer answers with a <Response><Stream> built as expected; update this test');
  return (match[1]! + match[2]!).replaceAll('${publicHost}', HOST);
}

describe('the README <Stream> against plivo (SDK) Response.addStream', () => {
  it('is the document the SDK builds from the same URL and attributes', async () => {
    const ours = readmeStreamXml();
    const parsed = (await parse(ours)) as { Response: { Stream: Array<{ _: string; $: Record<string, string> }> } };
    const [stream] = parsed.Response.Stream;
    expect(parsed.Response.Stream).toHaveLength(1);
    const url = stream!._;
    const attributes = stream!.$;
    expect(url).toBe(`wss://${HOST}/media`);

    // The SDK throws for an attribute it does not know for <Stream>. (Its typings declare
    // Response a function; it is called as a constructor, as its README shows.)
    const response = new (
      plivo.Response as unknown as new () => {
        addStream(body: string, attributes: Record<string, string>): unknown;
        toXML(): string;
      }
    )();
    response.addStream(url, attributes);
    const theirs = response.toXML();
    expect(await parse(ours)).toEqual(await parse(theirs));
  });

  it('asks for a bidirectional stream in a format our protocol reads', async () => {
    const parsed = (await parse(readmeStreamXml())) as { Response: { Stream: Array<{ $: Record<string, string> }> } };
    const attributes = parsed.Response.Stream[0]!.$;
    expect(attributes['bidirectional']).toBe('true');
    const contentType = attributes['contentType'] ?? 'audio/x-l16;rate=8000';
    expect(plivoEncoding(contentType)).toBe('pcmu');
    expect(contentType).toMatch(/;rate=8000$/);
  });
});

type SdkElement = {
  addDial(attributes?: Record<string, string>): SdkElement;
  addNumber(body: string, attributes?: Record<string, string>): SdkElement;
  addUser(body: string, attributes?: Record<string, string>): SdkElement;
  toXML(): string;
};
const sdkResponse = () => new (plivo.Response as unknown as new () => SdkElement)();

describe('plivoTransferXml against plivo (SDK) Response.addDial', () => {
  it('a SIP target: the <Dial><User sipHeaders> the SDK builds, every attribute one the SDK knows', async () => {
    const response = sdkResponse();
    response.addDial().addUser('sip:billing@pbx.example.com', { sipHeaders: 'Reason=invoice%20dispute,Calluuid=abc' });
    const ours = plivoTransferXml({
      destination: 'sip:billing@pbx.example.com',
      sipHeaders: 'Reason=invoice%20dispute,Calluuid=abc',
    });
    expect(await parse(ours)).toEqual(await parse(response.toXML()));
  });

  it('a number, with caller id and ring timeout: the <Dial callerId timeout><Number> the SDK builds', async () => {
    const response = sdkResponse();
    response.addDial({ callerId: '14155550100', timeout: '25' }).addNumber('14155550199');
    const ours = plivoTransferXml({ destination: '+14155550199', callerId: '+14155550100', timeout: 25 });
    expect(await parse(ours)).toEqual(await parse(response.toXML()));
  });
});
