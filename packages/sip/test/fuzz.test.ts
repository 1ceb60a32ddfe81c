/**
 * Fuzzing the SIP endpoint's parsers: the media protocol (RTP packets and the SIP requests of the
 * dialog), the SIP message parser, the SDP offer/answer and the RTP packet parser. Each takes any
 * input and answers with its result or its own error, nothing else. Below, the inputs fuzzing
 * found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { checkDecodeContract, checkHugeFrames } from '@switchboard/test-kit/fuzz';
import { RtpMediaProtocol } from '../src/index.js';
import { RtpPeerSimulator } from '../src/testing.js';
import { RtpFormatError, parseRtp, serializeRtp } from '../src/endpoint/rtp/packet.js';
import { SdpError, buildAnswer, buildOffer, negotiateOffer, parseSdp } from '../src/endpoint/sdp.js';
import { SipParseError, parseSipMessage } from '../src/endpoint/sip/message.js';

const callFrames = fuzzSeedFrames(new RtpPeerSimulator());
const sipTexts = callFrames.filter((frame): frame is string => typeof frame === 'string');
const invite = sipTexts.find((text) => text.startsWith('INVITE'))!;
const offers = [
  invite.slice(invite.indexOf('\r\n\r\n') + 4),
  buildOffer({ address: '127.0.0.1', port: 40000, sessionId: '1', sessionVersion: 1 }),
];
const LOCAL = { address: '127.0.0.1', port: 40002, sessionId: '2', sessionVersion: 1 };
const utf8 = new TextDecoder();

const media: FuzzTarget = { name: 'sip', seeds: callFrames, create: () => new RtpMediaProtocol() };

const sipMessage: FuzzTarget = {
  name: 'sip-message',
  seeds: [...sipTexts, ...sipTexts.map((text) => new TextEncoder().encode(text))],
  create: () => ({ decode: (frame) => parseSipMessage(frame) }),
  accepts: (error) => error instanceof SipParseError,
  check: (message) => {
    const m = message as { type?: unknown; body?: unknown };
    return (m.type === 'request' || m.type === 'response') && m.body instanceof Uint8Array
      ? undefined
      : 'not a SIP message';
  },
};

const sdp: FuzzTarget = {
  name: 'sdp',
  seeds: offers,
  // What the endpoint does with an INVITE's body: parse, negotiate, answer from the same offer.
  create: () => ({
    decode(frame) {
      const offer = parseSdp(typeof frame === 'string' ? frame : utf8.decode(frame));
      const negotiated = negotiateOffer(offer);
      if (typeof buildAnswer(offer, negotiated, LOCAL) !== 'string') throw new TypeError('no answer');
      return negotiated;
    },
  }),
  accepts: (error) => error instanceof SdpError,
  check: (result) => {
    const m = result as { payloadType?: unknown; ptimeMs?: unknown; remotePort?: unknown; remoteRtcpPort?: unknown };
    const port = (value: unknown) =>
      value === undefined || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535);
    if (!Number.isInteger(m.payloadType) || (m.payloadType as number) < 0 || (m.payloadType as number) > 127)
      return `payload type ${String(m.payloadType)}`;
    if (!Number.isInteger(m.ptimeMs) || (m.ptimeMs as number) <= 0) return `ptime ${String(m.ptimeMs)}`;
    if (!port(m.remotePort) || !port(m.remoteRtcpPort))
      return `ports ${String(m.remotePort)} / ${String(m.remoteRtcpPort)}`;
    return undefined;
  },
};

const rtp: FuzzTarget = {
  name: 'rtp',
  seeds: callFrames.filter((frame): frame is Uint8Array => typeof frame !== 'string'),
  create: () => ({ decode: (frame) => (typeof frame === 'string' ? [] : parseRtp(frame)) }),
  accepts: (error) => error instanceof RtpFormatError,
  check: (result) => {
    if (Array.isArray(result)) return undefined;
    const p = result as { payload: Uint8Array; sequence: number; timestamp: number; ssrc: number; payloadType: number };
    if (!(p.payload instanceof Uint8Array)) return 'payload is not bytes';
    if (
      !(p.sequence >= 0 && p.sequence <= 0xffff) ||
      !(p.timestamp >= 0 && p.timestamp <= 0xffffffff) ||
      !(p.ssrc >= 0 && p.ssrc <= 0xffffffff)
    )
      return 'header field out of range';
    return p.payloadType >= 0 && p.payloadType <= 127 ? undefined : `payload type ${p.payloadType}`;
  },
};

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe.each([media, sipMessage, sdp, rtp])('fuzzing $name', (target) => {
  it('answers any input with its result or its own error', () => {
    checkDecodeContract(target);
  });

  it('does the same for inputs of several megabytes', () => {
    checkHugeFrames(target, { numRuns: 8 });
  });
});

describe('inputs fuzzing found', () => {
  const info = (body: string) =>
    [
      'INFO sip:bridge@127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/WS peer.invalid;branch=z9hG4bK1',
      'From: <sip:caller@peer.invalid>;tag=1',
      'To: <sip:bridge@127.0.0.1>;tag=2',
      'Call-ID: c1@peer.invalid',
      'CSeq: 2 INFO',
      'Content-Type: application/dtmf-relay',
      `Content-Length: ${new TextEncoder().encode(body).byteLength}`,
      '',
      body,
    ].join('\r\n');

  it('reads a DTMF INFO body of 200 000 blank lines in one pass', () => {
    const protocol = new RtpMediaProtocol();
    protocol.decode(invite);
    // A multi-line pattern rescanned the body from every line: minutes for this body.
    expect(protocol.decode(info(`${'\n'.repeat(200_000)}Signal=5\r\nDuration=160\r\n`))).toEqual([
      { type: 'dtmf', digit: '5', durationMs: 160 },
    ]);
    expect(thrown(() => protocol.decode(info('\n'.repeat(200_000))))).toBeInstanceOf(ProtocolError);
  }, 30_000);

  it('reads Signal and Duration as before, and leaves out a duration too long to be one', () => {
    const protocol = new RtpMediaProtocol();
    protocol.decode(invite);
    expect(protocol.decode(info('Signal= 9\r\nDuration= 250\r\n'))).toEqual([
      { type: 'dtmf', digit: '9', durationMs: 250 },
    ]);
    expect(protocol.decode(info(`signal=#\r\nduration=${'9'.repeat(400)}\r\n`))).toEqual([
      { type: 'dtmf', digit: '#' },
    ]);
  });

  it('answers offers whose fields sdp-transform read as numbers or left empty with an SdpError or a stream', () => {
    const offer = (...lines: string[]) =>
      ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', ...lines, ''].join('\r\n');
    // `m=audio 40000 13`: the protocol field reads as the number 13.
    expect(thrown(() => negotiateOffer(offer('m=audio 40000 13')))).toBeInstanceOf(SdpError);
    // `a=rtpmap:8 48000/8000`: the codec reads as the number 48000.
    expect(thrown(() => negotiateOffer(offer('m=audio 40000 RTP/AVP 8', 'a=rtpmap:8 48000/8000')))).toBeInstanceOf(
      SdpError,
    );
    // `c=IN IP4 1`: the address reads as the number 1.
    expect(
      negotiateOffer(
        ['v=0', 'o=- 1 1 IN IP4 1', 's=-', 'c=IN IP4 1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n'),
      ).remoteAddress,
    ).toBe('1');
    // `a=rtcp:` without a port: RTCP goes to the RTP port + 1.
    expect(negotiateOffer(offer('m=audio 40000 RTP/AVP 0', 'a=rtcp:')).remoteRtcpPort).toBe(40001);
  });

  it('refuses a SIP text of many megabytes before reading it', () => {
    const error = thrown(() =>
      parseSipMessage(`OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ${'x'.repeat(8 * 1024 * 1024)}\r\n\r\n`),
    );
    expect(error).toBeInstanceOf(SipParseError);
    expect((error as SipParseError).message).toBe('message too large');
  });

  it('parses the packets it writes', () => {
    const packet = parseRtp(
      serializeRtp({
        payloadType: 0,
        marker: true,
        sequence: 65535,
        timestamp: 0xffffffff,
        ssrc: 1,
        payload: new Uint8Array(160),
      }),
    );
    expect(packet).toMatchObject({ payloadType: 0, marker: true, sequence: 65535, timestamp: 0xffffffff, ssrc: 1 });
  });
});
