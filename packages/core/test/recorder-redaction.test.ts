import { describe, expect, it } from 'vitest';
import { decodeMuLaw, encodeMuLaw, type AudioFormat, type CallEvent } from '../src/index.js';
import { maskAudio } from '../src/recorder/audio.js';
import { REDACTED, RedactionState, redactedLabels, resolveRedaction } from '../src/recorder/redact.js';

const start = (over: Partial<Extract<CallEvent, { type: 'call_start' }>> = {}): CallEvent => ({
  type: 'call_start',
  callId: 'CA0123456789abcdef0123456789abcdef',
  streamId: 'MZ0123456789abcdef0123456789abcdef',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: {},
  raw: null,
  ...over,
});

describe('recording redaction', () => {
  it('is on by default for phone numbers, custom parameters and noise audio, off for ids', () => {
    const r = resolveRedaction(undefined);
    expect(r.phoneNumbers).toBe(true);
    expect(r.customParameters).toEqual({ keep: new Set() });
    expect(r.ids).toBe(false);
    expect(r.audio).toBe('noise');
    expect(redactedLabels(r)).toEqual(['phone-numbers', 'custom-parameters', 'audio:noise']);
    expect(redactedLabels(resolveRedaction(false))).toEqual([]);
  });

  it('hides E.164 numbers anywhere in a JSON frame, and phone fields, but not base64 audio', () => {
    const state = new RedactionState(resolveRedaction({}));
    // A base64 run that happens to hold "+12345678901" must stay byte for byte.
    const audio = `${'A'.repeat(40)}+12345678901${'B'.repeat(40)}`;
    const frame = {
      event: 'start',
      note: 'call from +14155550123 about order 12345',
      nested: [{ deep: 'tel:+442071838750' }],
      from: '447700900123',
      to: '+15005550006',
      media: { payload: audio },
      short: '+1234567',
      // 30 bytes of audio in base64 that happen to hold "+12345678".
      small: `AAAA+12345678${'A'.repeat(27)}`,
      sixteen: '+123456789012345',
    };
    const out = state.json(frame) as typeof frame;
    expect(out.note).toBe('call from +00000000000 about order 12345');
    expect(out.nested[0]!.deep).toBe('tel:+000000000000');
    expect(out.from).toBe(REDACTED);
    expect(out.to).toBe('+00000000000');
    expect(out.media.payload).toBe(audio);
    expect(out.short).toBe('+1234567');
    expect(out.small).toBe(frame.small);
    expect(out.sixteen).toBe('+000000000000000');
    expect(JSON.stringify(out)).not.toMatch(/4155550123|442071838750|447700900123|5005550006/);
    // The input is not changed.
    expect(frame.note).toContain('+14155550123');
  });

  it("hides the call's from/to wherever they appear, once its call_start was decoded", () => {
    const state = new RedactionState(resolveRedaction({}));
    state.learn(start({ from: 'sip:alice@example.com', to: '+15005550006' }));
    // A URI stays a URI of its scheme, so that a SIP request still parses.
    expect(state.text('INVITE sip:bot@x SIP/2.0\r\nFrom: <sip:alice@example.com>;tag=1\r\n')).toBe(
      'INVITE sip:bot@x SIP/2.0\r\nFrom: <sip:redacted@redacted.invalid>;tag=1\r\n',
    );
    expect(state.text('caller alice')).toBe('caller alice');
    const named = new RedactionState(resolveRedaction({}));
    named.learn(start({ from: 'Alice Example' }));
    expect(named.text('from Alice Example')).toBe(`from ${REDACTED}`);
  });

  it('replaces custom parameter values and keeps their names; a keep list spares some', () => {
    const twilio = {
      event: 'start',
      start: { callSid: 'CA1', customParameters: { caller: 'Ada Lovelace', campaign: 'spring', tier: 'gold' } },
    };
    const all = new RedactionState(resolveRedaction({}));
    expect((all.json(twilio) as typeof twilio).start.customParameters).toEqual({
      caller: REDACTED,
      campaign: REDACTED,
      tier: REDACTED,
    });
    const kept = new RedactionState(resolveRedaction({ customParameters: { keep: ['Campaign'] } }));
    expect((kept.json(twilio) as typeof twilio).start.customParameters).toEqual({
      caller: REDACTED,
      campaign: 'spring',
      tier: REDACTED,
    });
    // Off: the values stay, but for a field named like a phone number (phone numbers are still on).
    const off = new RedactionState(resolveRedaction({ customParameters: false }));
    expect((off.json(twilio) as typeof twilio).start.customParameters).toEqual({
      caller: REDACTED,
      campaign: 'spring',
      tier: 'gold',
    });
    const none = new RedactionState(resolveRedaction(false));
    expect(none.json(twilio)).toEqual(twilio);
  });

  it('finds the decoded parameters again: top-level headers, name=value strings, SIP X- headers', () => {
    const state = new RedactionState(resolveRedaction({}));
    state.learn(start({ customParameters: { caller_name: 'Bob', account: 'AC-991' } }));
    // Vonage / jambonz: the headers are top-level fields of the first message.
    const vonage = {
      event: 'websocket:connected',
      'content-type': 'audio/l16;rate=16000',
      caller_name: 'Bob',
      other: 'Bob',
    };
    expect(state.json(vonage)).toEqual({ ...vonage, caller_name: REDACTED });
    // Plivo: extra_headers as one string.
    const plivo = { event: 'start', start: { extra_headers: 'caller_name=Bob;account=AC-991' } };
    expect((state.json(plivo) as typeof plivo).start.extra_headers).toBe(`caller_name=${REDACTED};account=${REDACTED}`);
    // SIP: X- headers of the INVITE text.
    expect(state.text('INVITE sip:a@b SIP/2.0\r\nX-Account: AC-991\r\n')).toBe(
      `INVITE sip:a@b SIP/2.0\r\nX-Account: ${REDACTED}\r\n`,
    );
  });

  it('blanks call and stream ids only when asked', () => {
    const media = { event: 'media', streamSid: 'MZ0123456789abcdef0123456789abcdef', media: { payload: 'AAAA' } };
    const plain = new RedactionState(resolveRedaction({}));
    plain.learn(start());
    expect(plain.json(media)).toEqual(media);
    const ids = new RedactionState(resolveRedaction({ ids: true }));
    ids.learn(start());
    expect(ids.json(media)).toEqual({ ...media, streamSid: '' });
    expect(
      ids.json({ event: 'start', start: { accountSid: 'AC1', callSid: 'CA0123456789abcdef0123456789abcdef' } }),
    ).toEqual({
      event: 'start',
      start: { accountSid: '', callSid: '' },
    });
  });
});

/** A seeded generator, so the noise is the same on every run. */
function seeded(seed = 7): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function rms(samples: Int16Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / (to - from));
}

describe('masking the caller audio', () => {
  const ulaw: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  /** 100 ms quiet, 100 ms of a loud tone, 100 ms quiet. */
  const speech = (() => {
    const samples = new Int16Array(2400);
    for (let i = 800; i < 1600; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    return encodeMuLaw(samples);
  })();

  it('silence keeps the length and is the encoding silence', () => {
    expect(maskAudio(speech, ulaw, 'silence')).toEqual(new Uint8Array(2400).fill(0xff));
    expect(
      maskAudio(new Uint8Array(320).fill(9), { encoding: 'l16', sampleRate: 16000, channels: 1 }, 'silence'),
    ).toEqual(new Uint8Array(320));
    expect(maskAudio(new Uint8Array(160), { encoding: 'pcma', sampleRate: 8000, channels: 1 }, 'silence')).toEqual(
      new Uint8Array(160).fill(0xd5),
    );
  });

  it('noise follows the loudness of every 10 ms and is not the original', () => {
    const masked = maskAudio(speech, ulaw, 'noise', seeded());
    expect(masked.byteLength).toBe(speech.byteLength);
    expect(masked).not.toEqual(speech);
    const before = decodeMuLaw(speech);
    const after = decodeMuLaw(masked);
    for (let block = 0; block < 30; block++) {
      const from = block * 80;
      const original = rms(before, from, from + 80);
      const noise = rms(after, from, from + 80);
      if (original < 50) expect(noise).toBeLessThan(50);
      else {
        expect(noise).toBeGreaterThan(original * 0.6);
        expect(noise).toBeLessThan(original * 1.5);
      }
    }
  });

  it('noise in L16 keeps the length, odd bytes included', () => {
    const l16: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
    const bytes = new Uint8Array(641);
    for (let i = 0; i < 640; i += 2) bytes[i + 1] = 0x30;
    const masked = maskAudio(bytes, l16, 'noise', seeded());
    expect(masked.byteLength).toBe(641);
    expect(masked).not.toEqual(bytes);
  });
});
