/**
 * A carrier payload's base64 is written into the model's append as the carrier sent it only when
 * it is strict base64 of the payload's length: known without reading it again for the text the
 * protocol just decoded, read again for any other.
 */
import { FakeCarrier, FakeRealtimeServer, TestProtocol, until, wire } from '@switchboard/conformance/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, TelephonyRealtimeTransport, type CallEvent } from '../src/index.js';
import { isTrustedBase64 } from '../src/audio/base64.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('isTrustedBase64', () => {
  it('takes the text base64Decode last decoded into that array, and any other strict text of the right length', () => {
    const text = base64Encode(bytes(160, 1));
    const decoded = base64Decode(text);
    expect(isTrustedBase64(text, decoded)).toBe(true);
    const other = base64Encode(bytes(160, 2));
    expect(isTrustedBase64(other, decoded)).toBe(true);
    expect(isTrustedBase64(base64Encode(bytes(163, 1)), decoded)).toBe(false);
  });

  it('refuses text that would break out of JSON, also right after a decode of the same length', () => {
    const decoded = base64Decode(base64Encode(bytes(6, 3)));
    expect(isTrustedBase64('AAAA"}AA', decoded)).toBe(false);
    expect(isTrustedBase64('AAAA\\nAA', decoded)).toBe(false);
    expect(isTrustedBase64('AA==AAAA', decoded)).toBe(false);
    // Unpadded text decodes, but is not the padded form the append needs.
    const unpadded = base64Encode(bytes(4, 4)).replace(/=+$/, '');
    expect(isTrustedBase64(unpadded, base64Decode(unpadded))).toBe(false);
  });
});

/** The test protocol, with `payloadBase64` set to what `rewrite` makes of the text it decoded. */
class Base64Protocol extends TestProtocol {
  constructor(readonly rewrite: (text: string, index: number) => string) {
    super();
  }
  #n = 0;
  override decode(frame: string | Uint8Array): CallEvent[] {
    const events = super.decode(frame);
    const w = JSON.parse(frame as string) as { e: string; b64?: string };
    for (const event of events) {
      if (event.type === 'audio' && w.b64 !== undefined) event.payloadBase64 = this.rewrite(w.b64, this.#n++);
    }
    return events;
  }
}

describe('appends from a carrier base64', () => {
  const stops: Array<() => unknown> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('carry the payload, whatever text of the right length a protocol passes along with it', async () => {
    const server = new FakeRealtimeServer();
    const url = await server.start();
    stops.push(() => server.stop());
    const carrier = new FakeCarrier();
    // Frames 0 and 2 pass the text they came in; frame 1 a text of the same length that is not base64.
    const protocol = new Base64Protocol((text, i) => (i === 1 ? `"}${text.slice(2)}` : text));
    const transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol,
      url,
      carrierIdleTimeoutMs: null,
      inputAudioInactivityTimeoutMs: null,
    });
    stops.push(() => transport.close());
    carrier.deliver(wire.start());
    await transport.connect({ apiKey: 'sk-test' });
    const frames = [bytes(160, 5), bytes(160, 6), bytes(160, 7)];
    for (const frame of frames) carrier.deliver(wire.audio(frame));
    const appends = () => server.received.filter((e) => e.type === 'input_audio_buffer.append');
    await until(() => appends().length === 3, 20_000);
    expect(appends().map((e) => e.audio)).toEqual(frames.map((f) => base64Encode(f)));
  });
});
