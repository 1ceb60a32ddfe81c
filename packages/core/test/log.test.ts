/**
 * The logging rule (src/log.ts): with every `switchboard:*` namespace enabled, a whole call (start,
 * caller audio, DTMF, a model response, barge-in, end) logs its stream id, and never the phone
 * numbers, custom parameters, audio, transcript or API key that went through it.
 */
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { base64Encode, TelephonyRealtimeTransport, type CallEvent, type MediaFrame } from '../src/index.js';
import { FakeCarrier, FakeRealtimeServer, TestProtocol, until, wire } from '@switchboard/conformance/testing';

const STREAM = 'MZ-stream-4711';
const FROM = '+15551230001';
const TO = '+15559870002';
const PARAMETER = 'tok_parameter_value_3f9a';
const API_KEY = 'sk-live-key-value-8c21';
const TRANSCRIPT = 'the account number is four two four two';

/** A test carrier whose calls carry phone numbers and a secret custom parameter. */
class CarrierWithCaller extends TestProtocol {
  override decode(frame: MediaFrame): CallEvent[] {
    return super
      .decode(frame)
      .map((event) =>
        event.type === 'call_start' ? { ...event, from: FROM, to: TO, customParameters: { token: PARAMETER } } : event,
      );
  }
}

/** Bytes that cannot occur by chance in a log line, as audio. */
const audio = (seed: number) => Uint8Array.from({ length: 160 }, (_, i) => (seed * 31 + i * 7) & 0xff);

let lines: string[];
let previousNamespaces: string;
let previousLog: typeof createDebug.log;
let model: FakeRealtimeServer;
let transport: TelephonyRealtimeTransport | undefined;

beforeEach(async () => {
  lines = [];
  previousLog = createDebug.log;
  previousNamespaces = createDebug.disable();
  createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
  createDebug.enable('switchboard:*');
  model = new FakeRealtimeServer();
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  await model.stop();
  createDebug.disable();
  createDebug.log = previousLog;
  if (previousNamespaces) createDebug.enable(previousNamespaces);
});

describe('what a call logs', () => {
  it('names the stream, and leaves out phone numbers, custom parameters, audio, transcripts and the API key', async () => {
    const url = await model.start();
    const carrier = new FakeCarrier();
    const callerAudio = [audio(1), audio(2), audio(3)];
    const modelAudio = [audio(7), audio(8)];
    transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new CarrierWithCaller(),
      url,
      inputAudioInactivityTimeoutMs: null,
    });
    const ended = new Promise<void>((resolve) => transport!.on('call_end', () => resolve()));

    carrier.deliver(wire.start(STREAM));
    for (const [i, bytes] of callerAudio.entries()) carrier.deliver(wire.audio(bytes, i + 1));
    await transport.connect({ apiKey: API_KEY });
    carrier.deliver(wire.dtmf('7'));
    await until(() => model.ofType('input_audio_buffer.append').length >= callerAudio.length, 20_000);

    model.respond('resp_1', 'item_1', modelAudio, { done: false });
    model.send({
      type: 'response.output_audio_transcript.delta',
      response_id: 'resp_1',
      item_id: 'item_1',
      output_index: 0,
      content_index: 0,
      delta: TRANSCRIPT,
    });
    await until(() => carrier.commands().some((c) => c.type === 'audio'), 20_000);
    model.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: 40, item_id: 'item_2' });
    await until(() => carrier.commands().some((c) => c.type === 'clear'), 20_000);
    carrier.deliver(wire.stop());
    await ended;

    const output = lines.join('\n');
    // The log is on: the call's id is in it (so the checks below look at real output).
    expect(output).toContain(STREAM);
    const never = [
      FROM,
      FROM.slice(2),
      TO,
      TO.slice(2),
      PARAMETER,
      API_KEY,
      TRANSCRIPT,
      ...[...callerAudio, ...modelAudio].map((bytes) => base64Encode(bytes).slice(0, 24)),
    ];
    for (const text of never) expect(output, text).not.toContain(text);
  });
});
