import { ExotelRealtimeTransport } from '@switchboard/exotel';
import { conformance as exotel } from '@switchboard/exotel/testing';
import { PlivoRealtimeTransport } from '@switchboard/plivo';
import { conformance as plivo } from '@switchboard/plivo/testing';
import { SipRealtimeTransport } from '@switchboard/sip';
import { RtpPeerSimulator } from '@switchboard/sip/testing';
import { TelnyxRealtimeTransport } from '@switchboard/telnyx';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { SignalWireRealtimeTransport, TwilioRealtimeTransport } from '@switchboard/twilio';
import { signalwireConformance, TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { RawWebSocketRealtimeTransport, type RawWebSocketPresetName } from '@switchboard/websocket';
import { conformance as websocketAdapters } from '@switchboard/websocket/testing';
import { VonageRealtimeTransport } from '@switchboard/vonage';
import { conformance as vonage } from '@switchboard/vonage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  base64Decode,
  base64Encode,
  CallRecorder,
  ConfigError,
  encodeMuLaw,
  type CallEvent,
  type CallRecordingOptions,
  type MediaConnection,
  type RecordingSink,
  type TelephonyRealtimeTransport,
} from '../src/index.js';
import type { ConformanceAdapter, PeerSimulator } from '../src/protocol.js';
import { FakeCarrier } from '@switchboard/conformance/testing';

/** A sink that keeps every line, parsed. */
class MemorySink implements RecordingSink {
  text = '';
  ended = 0;
  write(line: string): boolean {
    this.text += line;
    return true;
  }
  end(): void {
    this.ended++;
  }
  get lines(): Array<Record<string, unknown>> {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

const transports: TelephonyRealtimeTransport[] = [];
afterEach(() => {
  for (const t of transports.splice(0)) t.close();
});
function track<T extends TelephonyRealtimeTransport>(transport: T): T {
  transports.push(transport);
  return transport;
}

function deliver(carrier: FakeCarrier, peer: PeerSimulator, ...events: CallEvent[]): void {
  for (const event of events) for (const frame of peer.encodeInbound(event)) carrier.deliver(frame);
}

/** 20 ms of a loud μ-law tone: something a listener could hear. */
function tone(n: number): Uint8Array {
  const samples = new Int16Array(160);
  for (let i = 0; i < 160; i++) samples[i] = Math.round(9000 * Math.sin((2 * Math.PI * 300 * (i + 160 * n)) / 8000));
  return encodeMuLaw(samples);
}

const START: CallEvent = {
  type: 'call_start',
  callId: 'CA11111111111111111111111111111111',
  streamId: 'MZ22222222222222222222222222222222',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: { caller: '+14155550123', plan: 'gold' },
  from: '+14155550123',
  to: '+15005550006',
  raw: null,
};

function twilioCall(record: Omit<CallRecordingOptions, 'sink'> = {}, sink: RecordingSink = new MemorySink()) {
  const carrier = new FakeCarrier();
  const transport = track(
    new TwilioRealtimeTransport({
      twilioWebSocket: carrier,
      url: 'ws://127.0.0.1:9/unused',
      record: { ...record, sink },
    }),
  );
  return { carrier, transport, peer: new TwilioPeerSimulator() };
}

describe('the call recorder on a Twilio transport', () => {
  it('writes a Twilio trace: header, then every carrier frame with its time, redacted', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({ name: 'prod-call' }, sink);
    const audio = [tone(0), tone(1), tone(2)];
    deliver(
      carrier,
      peer,
      START,
      ...audio.map((payload): CallEvent => ({ type: 'audio', payload })),
      { type: 'dtmf', digit: '5' },
      { type: 'call_end' },
    );
    expect(transport.endReason).toBeDefined();
    const [header, ...lines] = sink.lines;
    const trace = header!['trace'] as Record<string, unknown>;
    expect(trace).toMatchObject({
      name: 'prod-call',
      carrier: 'twilio',
      source: '@switchboard/core recorder',
      redacted: ['phone-numbers', 'custom-parameters', 'audio:noise'],
    });
    expect(new Date(trace['recordedAt'] as string).toISOString()).toBe(trace['recordedAt']);
    const frames = lines.map((l) => l['frame'] as Record<string, unknown>);
    expect(frames.map((f) => f['event'])).toEqual(['connected', 'start', 'media', 'media', 'media', 'dtmf', 'stop']);
    const times = lines.map((l) => l['t'] as number);
    expect(times[0]).toBe(0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const start = frames[1]!['start'] as Record<string, unknown>;
    expect(start['customParameters']).toEqual({ caller: '[redacted]', plan: '[redacted]' });
    expect(start['callSid']).toBe(START.callId);
    expect(JSON.stringify(sink.lines)).not.toContain('4155550123');
    // The audio is masked: same length, other bytes.
    for (let i = 0; i < 3; i++) {
      const payload = base64Decode((frames[2 + i]!['media'] as { payload: string }).payload);
      expect(payload.byteLength).toBe(160);
      expect(payload).not.toEqual(audio[i]);
    }
    expect(sink.ended).toBe(1);
    expect(transport.recording!.stats).toMatchObject({
      truncated: false,
      writeErrors: 0,
      framesDropped: 0,
      audioNotFound: 0,
    });
  });

  it('keeps the audio and the values when redaction is off', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({ redact: false }, sink);
    const payload = tone(0);
    deliver(carrier, peer, START, { type: 'audio', payload });
    transport.close();
    const media = sink.lines.find((l) => (l['frame'] as { event?: string } | undefined)?.event === 'media')!;
    expect(base64Decode((media['frame'] as { media: { payload: string } }).media.payload)).toEqual(payload);
    expect((sink.lines[0]!['trace'] as { redacted: string[] }).redacted).toEqual([]);
  });

  it('replaces the audio by silence when asked', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({ redact: { audio: 'silence' } }, sink);
    deliver(carrier, peer, START, { type: 'audio', payload: tone(0) });
    transport.close();
    const media = sink.lines.find((l) => (l['frame'] as { event?: string } | undefined)?.event === 'media')!;
    expect(base64Decode((media['frame'] as { media: { payload: string } }).media.payload)).toEqual(
      new Uint8Array(160).fill(0xff),
    );
  });

  it('writes what the bridge sent after the carrier frame it answered, as sent lines', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({}, sink);
    // A bridge that answers every DTMF digit with a mark, from inside the frame's handling.
    transport.on('dtmf', () =>
      transport.connection.send(JSON.stringify({ event: 'mark', streamSid: START.streamId, mark: { name: 'digit' } })),
    );
    transport.connection.send(new Uint8Array([1, 2, 3]));
    transport.connection.send('not json');
    deliver(carrier, peer, START, { type: 'dtmf', digit: '1' });
    transport.end();
    const kinds = sink.lines.slice(1).map((l) => Object.keys(l).find((k) => k !== 't'));
    expect(kinds).toEqual(['sentBinary', 'sentText', 'frame', 'frame', 'frame', 'sent']);
    expect(sink.lines.at(-1)!['sent']).toEqual({ event: 'mark', streamSid: START.streamId, mark: { name: 'digit' } });
    expect(sink.lines[1]!['sentBinary']).toBe('AQID');
    expect(sink.lines[2]!['sentText']).toBe('not json');
    // The carrier still got everything.
    expect(carrier.sent).toHaveLength(3);
  });

  it('does not record a frame the socket refused', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({}, sink);
    deliver(carrier, peer, START);
    carrier.closed = true;
    expect(() => transport.connection.send('{"event":"clear"}')).toThrow();
    carrier.closed = false;
    transport.end();
    expect(sink.lines.some((l) => 'sent' in l)).toBe(false);
  });

  it('stops at maxBytes, says so in one last line, and counts what it dropped', () => {
    const sink = new MemorySink();
    const { carrier, transport, peer } = twilioCall({ maxBytes: 4096 }, sink);
    deliver(carrier, peer, START);
    for (let i = 0; i < 50; i++) deliver(carrier, peer, { type: 'audio', payload: tone(i) });
    const stats = transport.recording!.stats;
    expect(stats.truncated).toBe(true);
    expect(stats.framesDropped).toBeGreaterThan(0);
    deliver(carrier, peer, { type: 'call_end' });
    expect(transport.recording!.stats.framesDropped).toBe(stats.framesDropped);
    expect(sink.text.length).toBeLessThanOrEqual(4096);
    // The last line written is a frame line that also says the recording was truncated.
    const last = sink.lines.at(-1)!;
    expect((last['frame'] as { event: string }).event).toBe('media');
    expect(last['truncated']).toEqual({
      framesDropped: transport.recording!.stats.framesDropped,
      bytesDropped: transport.recording!.stats.bytesDropped,
    });
    // The call itself got every frame.
    expect(transport.metrics.framesIn).toBe(53);
  });

  it('a sink that throws never breaks the call: counted, reported once as a typed error', async () => {
    const sink: RecordingSink = {
      write() {
        throw new Error('disk full');
      },
    };
    const { carrier, transport, peer } = twilioCall({}, sink);
    const errors: unknown[] = [];
    transport.on('error', (event) => errors.push((event as { error: unknown }).error));
    const digits: string[] = [];
    transport.on('dtmf', (event) => digits.push(event.digit));
    deliver(
      carrier,
      peer,
      START,
      { type: 'audio', payload: tone(0) },
      { type: 'dtmf', digit: '7' },
      { type: 'dtmf', digit: '8' },
    );
    expect(digits).toEqual(['7', '8']);
    expect(transport.recording!.stats.writeErrors).toBeGreaterThanOrEqual(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const failures = errors.filter((e) => (e as { code?: string }).code === 'recording_failed');
    expect(failures).toHaveLength(1);
  });

  it('a sink that pushes back or rejects is counted and never awaited', async () => {
    const rejecting: RecordingSink = { write: () => Promise.reject(new Error('gone')) };
    const a = twilioCall({}, rejecting);
    deliver(a.carrier, a.peer, START, { type: 'dtmf', digit: '1' });
    a.transport.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(a.transport.recording!.stats.writeErrors).toBe(4);
    const full: RecordingSink = { write: () => false };
    const b = twilioCall({}, full);
    deliver(b.carrier, b.peer, START);
    b.transport.close();
    expect(b.transport.recording!.stats).toMatchObject({ backpressuredWrites: 3, linesWritten: 3, writeErrors: 0 });
  });

  it('masks the longest base64 field of a frame whose audio it cannot find byte for byte', () => {
    const sink = new MemorySink();
    const recorder = new CallRecorder({ sink }, { carrier: 'custom', format: START.format });
    const carrier = new FakeCarrier();
    const original = tone(3);
    const frame = JSON.stringify({ kind: 'audio', id: 'abcd', data: { samples: base64Encode(original) } });
    // A protocol that hands out audio other than the frame's bytes (here: inverted).
    recorder
      .wrap(carrier)
      .onMessage(() => recorder.decoded([{ type: 'audio', payload: original.map((b) => 255 - b) }]));
    carrier.deliver(frame);
    recorder.end();
    const line = sink.lines[1]!['frame'] as { id: string; data: { samples: string } };
    expect(line.id).toBe('abcd');
    const masked = base64Decode(line.data.samples);
    expect(masked.byteLength).toBe(160);
    expect(masked).not.toEqual(original);
    expect(recorder.stats.audioNotFound).toBe(1);
  });

  it('refuses a record option without a sink, or with a bad bound', () => {
    const carrier = new FakeCarrier();
    expect(() => new TwilioRealtimeTransport({ twilioWebSocket: carrier, record: {} as CallRecordingOptions })).toThrow(
      ConfigError,
    );
    expect(
      () => new TwilioRealtimeTransport({ twilioWebSocket: carrier, record: { sink: new MemorySink(), maxBytes: 10 } }),
    ).toThrow(ConfigError);
    expect(
      () =>
        new CallRecorder(
          { sink: new MemorySink(), redact: { audio: 'loud' as 'noise' } },
          { carrier: 'x', format: START.format },
        ),
    ).toThrow(ConfigError);
  });
});

describe('the call recorder on other carriers', () => {
  it('a Telnyx call is a telnyx trace of its own JSON frames, audio masked', () => {
    const sink = new MemorySink();
    const carrier = new FakeCarrier();
    const transport = track(
      new TelnyxRealtimeTransport({ telnyxWebSocket: carrier, url: 'ws://127.0.0.1:9/unused', record: { sink } }),
    );
    const payload = tone(0);
    deliver(carrier, telnyx.createPeerSimulator(), START, { type: 'audio', payload }, { type: 'call_end' });
    expect((sink.lines[0]!['trace'] as { carrier: string }).carrier).toBe('telnyx');
    const frames = sink.lines.slice(1).map((l) => l['frame'] as Record<string, unknown>);
    expect(frames.every((f) => typeof f === 'object')).toBe(true);
    const media = frames.find((f) => f['event'] === 'media')!;
    const recorded = base64Decode((media['media'] as { payload: string }).payload);
    expect(recorded.byteLength).toBe(160);
    expect(recorded).not.toEqual(payload);
    const start = frames.find((f) => f['event'] === 'start')!;
    expect(JSON.stringify(start)).not.toContain('4155550123');
    expect(JSON.stringify(start)).not.toContain('gold');
    expect(transport.recording!.stats.audioNotFound).toBe(0);
  });

  it('a Vonage call is a vonage trace: its JSON text frames and binary audio, masked in place', () => {
    const sink = new MemorySink();
    const carrier = new FakeCarrier();
    const transport = track(
      new VonageRealtimeTransport({ vonageWebSocket: carrier, url: 'ws://127.0.0.1:9/unused', record: { sink } }),
    );
    const peer = vonage.createPeerSimulator();
    const sent: Array<string | Uint8Array> = [];
    for (const event of [
      START,
      { type: 'audio', payload: tone(0) } as CallEvent,
      { type: 'audio', payload: tone(1) } as CallEvent,
    ]) {
      for (const frame of peer.encodeInbound(event)) {
        sent.push(frame);
        carrier.deliver(frame);
      }
    }
    transport.close();
    expect((sink.lines[0]!['trace'] as { carrier: string }).carrier).toBe('vonage');
    const lines = sink.lines.slice(1);
    expect(lines[0]!['frame']).toMatchObject({ event: 'websocket:connected', plan: '[redacted]' });
    const binaries = lines
      .filter((l) => typeof l['binary'] === 'string')
      .map((l) => base64Decode(l['binary'] as string));
    const original = sent.filter((f): f is Uint8Array => typeof f !== 'string');
    expect(binaries).toHaveLength(original.length);
    expect(original.length).toBeGreaterThan(0);
    binaries.forEach((bytes, i) => {
      expect(bytes.byteLength).toBe(original[i]!.byteLength);
      expect(bytes).not.toEqual(original[i]);
    });
    // Each frame's audio was found where the decoded payload sits (not masked blindly).
    expect(transport.recording!.stats.audioNotFound).toBe(0);
  });

  it('a SIP call is a sip trace: RTP headers kept, only the audio after them masked', () => {
    const sink = new MemorySink();
    const carrier = new FakeCarrier();
    const transport = track(
      new SipRealtimeTransport({ connection: carrier, url: 'ws://127.0.0.1:9/unused', record: { sink } }),
    );
    const peer = new RtpPeerSimulator();
    const sent: Array<string | Uint8Array> = [];
    for (let i = 0; i < 4; i++) {
      const event: CallEvent = i === 0 ? START : { type: 'audio', payload: tone(i) };
      for (const frame of peer.encodeInbound(event)) {
        sent.push(frame);
        carrier.deliver(frame);
      }
    }
    transport.close();
    expect((sink.lines[0]!['trace'] as { carrier: string }).carrier).toBe('sip');
    expect(sink.text).not.toContain('4155550123');
    const original = sent.filter((f): f is Uint8Array => typeof f !== 'string');
    const binaries = sink.lines
      .filter((l) => typeof l['binary'] === 'string')
      .map((l) => base64Decode(l['binary'] as string));
    expect(original.length).toBeGreaterThan(0);
    expect(binaries).toHaveLength(original.length);
    binaries.forEach((bytes, i) => {
      expect(bytes.byteLength).toBe(original[i]!.byteLength);
      expect(bytes.subarray(0, 12)).toEqual(original[i]!.subarray(0, 12));
      expect(bytes.subarray(12)).not.toEqual(original[i]!.subarray(12));
    });
  });

  const unused = 'ws://127.0.0.1:9/unused';
  const preset = (
    name: RawWebSocketPresetName,
  ): [string, ConformanceAdapter, (c: MediaConnection, record: CallRecordingOptions) => TelephonyRealtimeTransport] => {
    const adapter = websocketAdapters.find((a) => a.name === `websocket/${name}`)!;
    return [
      name,
      adapter,
      (c, record) =>
        new RawWebSocketRealtimeTransport({
          websocket: c,
          preset: { preset: name, format: adapter.carrierFormat! },
          url: unused,
          record,
        }),
    ];
  };
  const carriers: Array<
    [string, ConformanceAdapter, (c: MediaConnection, record: CallRecordingOptions) => TelephonyRealtimeTransport]
  > = [
    [
      'signalwire',
      signalwireConformance,
      (c, record) => new SignalWireRealtimeTransport({ signalwireWebSocket: c, url: unused, record }),
    ],
    ['plivo', plivo, (c, record) => new PlivoRealtimeTransport({ plivoWebSocket: c, url: unused, record })],
    ['exotel', exotel, (c, record) => new ExotelRealtimeTransport({ exotelWebSocket: c, url: unused, record })],
    preset('asterisk'),
    preset('jambonz'),
    preset('generic'),
  ];

  it.each(carriers)(
    'a %s call: every frame in its own format, the audio found and masked, numbers and parameters hidden',
    (carrierName, adapter, create) => {
      const sink = new MemorySink();
      const carrier = new FakeCarrier();
      const transport = track(create(carrier, { sink }));
      const peer = adapter.createPeerSimulator();
      const sent: Array<string | Uint8Array> = [];
      for (const event of [START, ...[0, 1, 2].map((n): CallEvent => ({ type: 'audio', payload: tone(n) }))]) {
        for (const frame of peer.encodeInbound(event)) {
          sent.push(frame);
          carrier.deliver(frame);
        }
      }
      transport.close();
      expect((sink.lines[0]!['trace'] as { carrier: string }).carrier).toBe(transport.protocol.name);
      expect(transport.protocol.name).toContain(carrierName);
      const inbound = sink.lines.slice(1).filter((l) => 'frame' in l || 'binary' in l || 'text' in l);
      expect(inbound).toHaveLength(sent.length);
      inbound.forEach((line, i) => {
        const original = sent[i]!;
        if (typeof original === 'string') expect('frame' in line || 'text' in line).toBe(true);
        else expect(base64Decode(line['binary'] as string).byteLength).toBe(original.byteLength);
      });
      // No audio frame was written as it came, and none needed the fallback.
      const audioFrames = sent.filter((f) => typeof f !== 'string' || f.includes('"media"') || f.includes('"payload"'));
      expect(audioFrames.length).toBeGreaterThan(0);
      const recordedText = sink.text;
      for (const frame of audioFrames) {
        if (typeof frame === 'string') {
          const payload = /"payload":"([^"]+)"/.exec(frame)?.[1];
          if (payload && payload.length > 16) expect(recordedText).not.toContain(payload);
        } else expect(recordedText).not.toContain(base64Encode(frame));
      }
      expect(transport.recording!.stats.audioNotFound).toBe(0);
      expect(recordedText).not.toContain('4155550123');
      expect(recordedText).not.toContain('gold');
    },
  );
});
