import { describe, expect, it } from 'vitest';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { conformance as exotel } from '@switchboard/exotel/testing';
import { conformance as plivo } from '@switchboard/plivo/testing';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { conformance as vonage } from '@switchboard/vonage/testing';
import { conformance as websocket } from '@switchboard/websocket/testing';
import { replayAndCheck, type CheckedReplay } from '../src/run.js';
import {
  parseTrace,
  RECORDED_MARK_PREFIX,
  replayableFrames,
  traceExpect,
  traceHazards,
  TraceParseError,
} from '../src/trace.js';
import { realCaptures, type Capture } from './captures.js';

/**
 * Every shipped adapter that runs in this process (the Worker adapter replays Twilio frames exactly as `twilio` does).
 */
const ADAPTERS: ConformanceAdapter[] = [twilio, telnyx, plivo, exotel, vonage, ...websocket];

const captures = await realCaptures();
const byName = (name: string): Capture => captures.find((c) => c.name === name)!;

describe('facts of real captures, derived from their frames alone', () => {
  it('a capture that begins mid-call gets a start of the replayer own, with the stream id its media name', () => {
    const { trace } = byName('capture-fragment');
    const facts = traceExpect(trace);
    expect(facts.starts).toMatchObject([{ synthesized: true, callSid: '', customParameters: undefined }]);
    expect(facts.streamSids).toEqual([trace.frames[0]!.frame.streamSid]);
    expect(facts.utterances.length).toBe(1);
    expect(traceHazards(trace)).toContain('fragment');
    const sent = replayableFrames(trace);
    expect(sent[0]!.frame.event).toBe('start');
    expect(sent[0]!.frame.streamSid).toBe(trace.frames[0]!.frame.streamSid);
    expect(sent.slice(1)).toEqual(trace.frames);
  });

  it('redacted ids stay empty in the facts and get stand-ins in the replay', () => {
    const { trace } = byName('capture-redacted');
    const facts = traceExpect(trace);
    expect(facts.callSid).toBe('');
    expect(facts.streamSids).toEqual(['']);
    expect(facts.starts![0]!.customParameters).toBeUndefined();
    const sent = replayableFrames(trace);
    const start = sent.find((f) => f.frame.event === 'start')!.frame;
    expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect((start.start as { callSid: string }).callSid).toMatch(/^CA[0-9a-f]{32}$/);
    for (const f of sent) if (f.frame.event !== 'connected') expect(f.frame.streamSid).toBe(start.streamSid);
  });

  it('each start keeps its own custom parameters', () => {
    const facts = traceExpect(byName('capture-second-start').trace);
    expect(facts.starts!.map((s) => s.customParameters)).toEqual([
      { caller: '+15551230000', campaign: 'demo' },
      { caller: '+15559870000', transferred: 'yes' },
    ]);
    expect(traceHazards(byName('capture-second-start').trace)).toContain('second-start');
  });

  it('a capture without stop, in the older connected/start shape, reads as one call with no parameters', () => {
    const { trace } = byName('capture-no-stop');
    const facts = traceExpect(trace);
    expect(facts.starts).toMatchObject([{ synthesized: false, customParameters: {} }]);
    expect(traceHazards(trace)).toContain('no-stop');
  });

  it('tones and noise are no speech', () => {
    const { trace } = byName('capture-non-speech');
    expect(traceExpect(trace).utterances).toEqual([]);
    expect(traceHazards(trace)).toEqual([]);
  });

  it('recorded marks go out as marks the bridge never sent, and frames a carrier never sends are left out', () => {
    const { trace } = byName('capture-no-stop');
    const t = trace.frames.at(-1)!.t;
    const extra = parseTrace(
      [
        ...trace.frames.map((f) => JSON.stringify(f)),
        JSON.stringify({
          t,
          frame: { event: 'mark', streamSid: trace.frames[1]!.frame.streamSid, mark: { name: 'm-1' } },
        }),
        JSON.stringify({ t, frame: { event: 'clear', streamSid: trace.frames[1]!.frame.streamSid } }),
        JSON.stringify({ t, frame: { event: 'media', media: { track: 'outbound', payload: 'AAAA' } } }),
        JSON.stringify({ t, sent: { event: 'clear', streamSid: trace.frames[1]!.frame.streamSid } }),
      ].join('\n'),
    );
    const sent = replayableFrames(extra);
    expect(sent.length).toBe(trace.frames.length + 1);
    expect(sent.at(-1)!.frame.mark).toEqual({ name: `${RECORDED_MARK_PREFIX}m-1` });
  });
});

describe('a declared expect block must agree with the frames', () => {
  const text = byName('capture-non-speech').text;
  const withExpect = (expect: Record<string, unknown>) =>
    text.replace(/^\{"trace":\{/, `{"trace":{"expect":${JSON.stringify(expect)},`);

  it('is refused naming the field and both values when it contradicts them', () => {
    expect(() => parseTrace(withExpect({ dtmf: ['9'] }))).toThrow(TraceParseError);
    expect(() => parseTrace(withExpect({ dtmf: ['9'] }))).toThrow(
      'line 1: expect.dtmf: declared ["9"], but the frames give []',
    );
    expect(() => parseTrace(withExpect({ callSid: 'CA1' }))).toThrow(
      'expect.callSid: declared "CA1", but the frames give "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9"',
    );
    expect(() => parseTrace(withExpect({ utterances: [{ startMs: 100, endMs: 900 }] }))).toThrow(
      /expect\.utterances: declared \[\{"startMs":100,"endMs":900\}\], but the frames give \[\]/,
    );
  });

  it('is taken when it agrees', () => {
    const trace = parseTrace(withExpect({ dtmf: [], durationMs: 4000, utterances: [], inboundMediaBytes: 32000 }));
    expect(trace.header.expect).toEqual({ dtmf: [], inboundMediaBytes: 32000, utterances: [], durationMs: 4000 });
  });
});

/** At most this many replays at once: enough to keep the file short, few enough for the timing checks on two cores. */
const CONCURRENT = 4;
let running = 0;
const waiting: Array<() => void> = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const replays = new Map<string, Promise<CheckedReplay>>();
function replayed(adapter: ConformanceAdapter, capture: Capture): Promise<CheckedReplay> {
  const key = `${adapter.name}\u0000${capture.name}`;
  let replay = replays.get(key);
  if (!replay) {
    replay = limited(() => replayAndCheck(adapter, capture.trace));
    replays.set(key, replay);
  }
  return replay;
}

describe('real captures replay through every adapter', () => {
  const cases = ADAPTERS.flatMap((adapter) =>
    captures.map((capture) => [adapter.name, capture.name, adapter, capture] as const),
  );
  // Start every replay now: they run CONCURRENT at a time while the cases wait for theirs.
  for (const [, , adapter, capture] of cases) void replayed(adapter, capture).catch(() => undefined);

  it.each(cases)(
    '%s × %s: no check fails',
    async (_a, _c, adapter, capture) => {
      const { result, outcomes } = await replayed(adapter, capture);
      expect(result.failures).toEqual([]);
      const failed = outcomes
        .filter((o) => o.outcome.status === 'fail')
        .map((o) => `${o.check.id}: ${o.outcome.detail}`);
      expect(failed).toEqual([]);
      if (capture.name === 'capture-non-speech') {
        for (const o of outcomes) if (o.check.id.startsWith('bargein.')) expect(o.outcome.status).toBe('n/a');
      }
      if (capture.name === 'capture-second-start') {
        expect(outcomes.find((o) => o.check.id === 'metadata.first')!.outcome.status).toBe('pass');
      }
    },
    240_000,
  );
});
