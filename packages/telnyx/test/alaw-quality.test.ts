/**
 * The quality of the reply on a call whose caller speaks μ-law while Telnyx expects A-law back
 * (`stream_bidirectional_codec: PCMA`), measured through the whole output path: the model's audio
 * in the session's format, the transport, the Telnyx protocol, and the A-law bytes on the wire.
 */
import { Buffer } from 'node:buffer';
import {
  Resampler,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  pcm16ToBytes,
  type CallEvent,
} from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import { TelnyxRealtimeTransport, type TelnyxRealtimeTransportOptions } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<TelnyxRealtimeTransportOptions> = {}) =>
    new TelnyxRealtimeTransport({ telnyxWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

/** Two tones, well inside the telephone band. */
const TONES = [440, 1250];
const AMPLITUDE = 6000; // each tone: about -12 dBFS together

function tones(rate: number, seconds: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (const f of TONES) v += AMPLITUDE * Math.sin((2 * Math.PI * f * i) / rate + f / 1000);
    out[i] = Math.round(v);
  }
  return out;
}

/**
 * Signal-to-noise ratio of `samples` (8 kHz) against the tones: the tones' least-squares fit
 * (free amplitude and phase each, plus DC) is the signal, what is left is noise. No alignment is
 * needed, so a resampler's delay does not count as noise. The first and last 50 ms are left out.
 */
function snrDb(samples: Int16Array, rate = 8000): number {
  const skip = Math.round(rate * 0.05);
  const xs = Array.from(samples.subarray(skip, samples.length - skip));
  const basis: number[][] = [xs.map(() => 1)];
  for (const f of TONES) {
    basis.push(xs.map((_, i) => Math.sin((2 * Math.PI * f * (i + skip)) / rate)));
    basis.push(xs.map((_, i) => Math.cos((2 * Math.PI * f * (i + skip)) / rate)));
  }
  // Normal equations, solved by Gaussian elimination (5 unknowns).
  const n = basis.length;
  const a = basis.map((bi) => [
    ...basis.map((bj) => bi.reduce((s, v, k) => s + v * bj[k]!, 0)),
    bi.reduce((s, v, k) => s + v * xs[k]!, 0),
  ]);
  for (let c = 0; c < n; c++) {
    for (let r = c + 1; r < n; r++) {
      const m = a[r]![c]! / a[c]![c]!;
      for (let k = c; k <= n; k++) a[r]![k]! -= m * a[c]![k]!;
    }
  }
  const w = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= a[r]![k]! * w[k]!;
    w[r] = s / a[r]![r]!;
  }
  let signal = 0;
  let noise = 0;
  xs.forEach((x, i) => {
    let fit = 0;
    for (let k = 1; k < n; k++) fit += w[k]! * basis[k]![i]!;
    signal += fit * fit;
    noise += (x - w[0]! - fit) ** 2;
  });
  return 10 * Math.log10(signal / noise);
}

/** 24 kHz model audio at 8 kHz, the filter's delay removed (what the model does for G.711 output). */
function narrow(wide: Int16Array): Int16Array {
  const resampler = new Resampler(24000, 8000);
  const head = resampler.process(wide);
  const tail = resampler.flush();
  const all = new Int16Array(head.length + tail.length);
  all.set(head);
  all.set(tail, head.length);
  const delay = Math.round(resampler.delaySamples);
  return all.slice(delay, delay + wide.length / 3);
}

function start(encoding: 'pcmu' | 'pcma'): CallEvent {
  return {
    type: 'call_start',
    streamId: 'A1B2C3D4-0000-4000-8000-000000000001',
    callId: 'v3:law-quality',
    customParameters: {},
    format: { encoding, sampleRate: 8000, channels: 1 },
    raw: null,
  };
}

describe('TelnyxRealtimeTransport: the other G.711 law back', () => {
  // Before, the reply was converted from the caller's law into the other one: 33.3 dB against
  // 37.4 dB for A-law encoded directly (μ-law caller, PCMA back), about 4 dB lost.
  it.each([
    ['A-law back on a μ-law call', 'pcmu', 'PCMA'],
    ['μ-law back on an A-law call (an EU trunk with the default codec back)', 'pcma', 'PCMU'],
  ] as const)(
    '%s: encoded from linear audio, as clean as encoding the signal directly',
    async (_title, callerLaw, back) => {
      const t = rig.make({ bidirectionalCodec: back });
      await t.connect({ apiKey: 'sk-test' });
      rig.send(new TelnyxPeerSimulator({ bidirectionalCodec: back }), start(callerLaw));
      await until(() => t.callStart !== undefined);

      // The model speaks the tones in whatever format the transport configured the session with.
      const wide = tones(24000, 1);
      const model = t.modelAudioFormat;
      const rendered =
        model.type === 'audio/pcm'
          ? pcm16ToBytes(wide)
          : model.type === 'audio/pcmu'
            ? encodeMuLaw(narrow(wide))
            : encodeALaw(narrow(wide));
      const chunk = model.type === 'audio/pcm' ? 960 : 160; // 20 ms
      const deltas: Uint8Array[] = [];
      for (let at = 0; at < rendered.length; at += chunk) deltas.push(rendered.subarray(at, at + chunk));
      rig.model.respond('resp_1', 'item_1', deltas);

      const wire = () =>
        rig.carrier.sent
          .map((f) => JSON.parse(f as string) as { event: string; media?: { payload: string } })
          .filter((m) => m.event === 'media')
          .map((m) => new Uint8Array(Buffer.from(m.media!.payload, 'base64')));
      // One second of 8 kHz G.711, give or take the resampler's edge.
      await until(() => wire().reduce((n, b) => n + b.byteLength, 0) >= 7800, 20_000);
      const [decode, encode] = back === 'PCMA' ? [decodeALaw, encodeALaw] : [decodeMuLaw, encodeMuLaw];
      const sent = decode(Buffer.concat(wire()));

      const direct = snrDb(decode(encode(narrow(wide))));
      const measured = snrDb(sent);
      // G.711 of a clean signal at this level is about 37 dB; a detour through the other law costs about 4 dB.
      expect(direct).toBeGreaterThan(33);
      expect(measured).toBeGreaterThan(direct - 1);
    },
  );
});
