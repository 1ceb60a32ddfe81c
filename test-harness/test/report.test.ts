/**
 * The call report: the timeline taken from a real replay (barge-in through the Twilio adapter),
 * failed checks placed on it, escaping of everything a trace or adapter says, the dump's files,
 * and a recording drawn from its frames alone.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { conformance } from '@switchboard/twilio/testing';
import { base64Encode, encodeMuLaw } from '@switchboard/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { INJECTED_ITEM } from '../src/call-features.js';
import { replayAndCheck } from '../src/run.js';
import { viewCommand } from '../src/cli/view.js';
import type { ReplayResult } from '../src/replay.js';
import {
  DUMP_FILES,
  escapeHtml,
  renderHtmlReport,
  replayTimeline,
  reportCallOf,
  writeCallDump,
  type ReportCall,
} from '../src/report/index.js';
import { parseRecording, readRecording, recordingTimeline } from '../src/report/recording.js';
import { renderTimelinesPage } from '../src/report/render.js';
import { loadTraces } from '../src/trace.js';

const output = fileURLToPath(new URL('./output/report/', import.meta.url));
const bargeIn = fileURLToPath(new URL('../traces/barge-in.jsonl', import.meta.url));

let result: ReplayResult;
let call: ReportCall;

beforeAll(async () => {
  await rm(output, { recursive: true, force: true });
  await mkdir(output, { recursive: true });
  const [trace] = await loadTraces(bargeIn);
  // Replayed again (slower) while only timing checks fail, as a run does: a stall of a loaded
  // machine may move the barge-in out of the reply.
  const checked = await replayAndCheck(conformance, trace!);
  result = checked.result;
  const outcomes = checked.outcomes.map(({ check, outcome }) => ({ id: check.id, title: check.title, ...outcome }));
  call = {
    adapter: conformance.name,
    trace: trace!.header.name,
    turnDetection: result.turnDetection,
    result,
    outcomes,
  };
}, 120_000);

/** The same call with these checks failed. */
function failing(ids: string[]): ReportCall {
  return {
    ...call,
    outcomes: call.outcomes.map((o) =>
      ids.includes(o.id) ? { ...o, status: 'fail' as const, detail: `broken: ${o.id}` } : o,
    ),
  };
}

const nonZero = (samples: Int16Array) => samples.some((s) => Math.abs(s) > 200);

describe('the timeline of a replay', () => {
  it('has both voices, the turns, marks and acks, the clear, and the truncation against what the caller heard', () => {
    const t = replayTimeline(call);
    expect(t.durationMs).toBeGreaterThan(5000);
    expect(nonZero(t.caller.samples)).toBe(true);
    expect(nonZero(t.agent.samples)).toBe(true);
    const kinds = (kind: string) => t.markers.filter((m) => m.kind === kind);
    expect(kinds('start')).toHaveLength(1);
    expect(kinds('call_start')).toHaveLength(1);
    expect(kinds('mark')).toHaveLength(result.carrier.marksSent);
    expect(kinds('ack')).toHaveLength(result.carrier.acksSent);
    expect(kinds('speech_started').length).toBeGreaterThanOrEqual(2);
    expect(kinds('malformed')).toHaveLength(1);
    // The barge-in: one clear; the truncate says what the caller had heard of the item.
    expect(kinds('clear')).toHaveLength(result.carrier.clears.length);
    expect(kinds('clear').length).toBeGreaterThan(0);
    const truncate = kinds('truncate')[0]!;
    const heard = Object.values(result.carrier.clears[0]!.playedByItem)[0]!;
    expect(truncate.label).toContain(`heard ${Math.round(heard)}`);
    // One turn per response, with the response's end: the barged-in reply is cancelled, unless a
    // stall of a busy machine let the model finish it before the caller spoke (then it is truncated).
    const turns = t.spans.filter((s) => s.kind === 'turn');
    const created = result.timeline.filter((e) => e.type === 'response.created');
    expect(turns).toHaveLength(created.length);
    const statusOf = (id: string | undefined) =>
      result.timeline.find((e) => e.type === 'response.done' && e.responseId === id)?.status;
    const responseStatus = (id: string | undefined) => result.model?.responses.find((r) => r.id === id)?.status;
    expect(turns.map((s) => s.status)).toEqual(
      created.map((e) => statusOf(e.responseId) ?? responseStatus(e.responseId) ?? 'in_progress'),
    );
    expect(turns.some((s) => s.status === 'completed')).toBe(true);
    expect(t.spans.some((s) => s.kind === 'latency' && s.to > s.from)).toBe(true);
    // Everything on the axis.
    for (const m of t.markers) expect(m.at).toBeGreaterThanOrEqual(0);
    expect(t.failures).toEqual([]);
  });

  it('puts a failed check where it happened, or on its row when it judges the whole call', () => {
    const t = replayTimeline(failing(['bargein.clear', 'input.lossless']));
    const clear = t.markers.find((m) => m.kind === 'clear')!;
    expect(t.failures).toEqual([
      expect.objectContaining({ id: 'input.lossless', at: undefined }),
      expect.objectContaining({ id: 'bargein.clear', at: clear.at }),
    ]);
    const html = renderHtmlReport([failing(['bargein.clear', 'input.lossless'])]);
    expect(html).toContain(`id="fail-0-bargein.clear" data-check="bargein.clear" data-at="${Math.round(clear.at)}"`);
    expect(html).toMatch(/<tr class="fail" data-check="input\.lossless">.*no moment/);
    expect(html).not.toContain('id="fail-0-input.lossless"');
  });

  it('takes the moment a check gives itself over the one its subject suggests', () => {
    const timed = failing(['bargein.clear']);
    timed.outcomes = timed.outcomes.map((o) => (o.id === 'bargein.clear' ? { ...o, at: 1234.5 } : o));
    expect(replayTimeline(timed).failures).toEqual([expect.objectContaining({ id: 'bargein.clear', at: 1234.5 })]);
    const report = {
      trace: call.trace,
      turnDetection: call.turnDetection,
      outcomes: timed.outcomes,
      metrics: undefined,
      durationMs: 1,
      replays: 1,
    };
    const fromRun = reportCallOf(call.adapter, report as unknown as Parameters<typeof reportCallOf>[1], {
      result,
      outcomes: [],
      replays: 1,
      earlier: [],
    });
    expect(fromRun.outcomes.find((o) => o.id === 'bargein.clear')).toMatchObject({ status: 'fail', at: 1234.5 });
    expect(fromRun.outcomes.find((o) => o.id === 'input.lossless')).not.toHaveProperty('at');
  });

  it("draws injected audio apart from the model's, and the bridge's hang-up apart from the caller's", () => {
    // The same call as if the bridge had played 200 ms of its own audio first and then hung up.
    const chunks = result.carrier.chunks;
    const first = chunks[0]!;
    const injected = [0, 20, 40].map((ms) => ({
      ...first,
      startAt: first.startAt - 200 + ms,
      receivedAt: first.receivedAt - 200 + ms,
      durationMs: 20,
      itemId: INJECTED_ITEM,
    }));
    const end = result.durationMs - 50;
    const changed: ReportCall = {
      ...failing(['hangup.after_playback', 'audio.injected']),
      result: {
        ...result,
        emitted: [
          ...result.emitted,
          {
            at: first.startAt - 210,
            name: 'injected_audio',
            args: [{ type: 'injected_audio', id: 'a', phase: 'start' }],
          },
        ],
        carrier: { ...result.carrier, chunks: [...injected, ...chunks], bridgeEnded: { at: end, by: 'close' } },
      },
    };
    const t = replayTimeline(changed);
    const span = t.spans.find((s) => s.kind === 'injected');
    expect(span).toMatchObject({ lane: 'agent', from: first.startAt - 200, to: first.startAt - 140 });
    expect(t.spans.filter((s) => s.kind === 'injected')).toHaveLength(1);
    expect(t.markers.find((m) => m.label === 'bridge ends')).toMatchObject({
      lane: 'carrier',
      kind: 'hangup',
      at: end,
    });
    expect(t.markers.find((m) => m.lane === 'bridge' && m.label === 'injected start')).toBeDefined();
    expect(t.failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'hangup.after_playback', at: end }),
        expect.objectContaining({ id: 'audio.injected', at: first.startAt - 200 }),
      ]),
    );
    expect(renderHtmlReport([changed])).toContain('injected 60 ms');
  });

  it('draws a self-contained page: no script, no outside resource, the waveforms as paths', () => {
    const html = renderHtmlReport([call]);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=|href="(?!#)/i);
    const caller = /<path class="wave caller" data-track="caller" data-columns="(\d+)" d="([^"]*)"/.exec(html);
    const agent = /<path class="wave agent" data-track="agent" data-columns="(\d+)" d="([^"]*)"/.exec(html);
    expect(Number(caller![1])).toBeGreaterThan(50);
    expect(Number(agent![1])).toBeGreaterThan(50);
    expect(caller![2]).toMatch(/^M\d/);
  });
});

describe('escaping', () => {
  it('shows what an adapter, a trace or a check says as text, never as markup', () => {
    const hostile = '<script>window.__owned=1</script><img src=x onerror="window.__owned=2">';
    const frames = result.carrier.traceFramesSent.map((f) =>
      f.frame.event === 'start'
        ? {
            at: f.at,
            frame: { ...f.frame, start: { ...(f.frame.start as object), customParameters: { [hostile]: hostile } } },
          }
        : f,
    );
    const evil: ReportCall = {
      ...call,
      adapter: hostile,
      trace: `"'${hostile}`,
      turnDetection: hostile,
      result: {
        ...result,
        carrier: { ...result.carrier, traceFramesSent: frames },
        trace: { ...result.trace, header: { ...result.trace.header, description: hostile } },
      },
      outcomes: call.outcomes.map((o, i) =>
        i === 0 ? { ...o, status: 'fail' as const, title: hostile, detail: hostile } : o,
      ),
    };
    const html = renderHtmlReport([evil], hostile);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('onerror="');
    expect(html).toContain(escapeHtml(hostile));
    // The custom parameter reached the page (as text).
    expect(html.split(escapeHtml(hostile)).length).toBeGreaterThan(6);
    expect(escapeHtml(`<a href="x" title='y'>&`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;');
  });
});

describe('the dump', () => {
  it('writes both audio tracks as WAV, the timeline as JSON and each side’s frames as JSONL', async () => {
    const folder = await writeCallDump(join(output, 'dump'), failing(['bargein.truncate']));
    expect(folder).toBe(join(output, 'dump', 'twilio', 'barge-in', result.turnDetection));
    expect((await readdir(folder)).sort()).toEqual(Object.values(DUMP_FILES).sort());

    const wav = async (name: string) => {
      const bytes = await readFile(join(folder, name));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(view.getUint32(4, true)).toBe(bytes.byteLength - 8);
      expect(bytes.subarray(8, 16).toString('latin1')).toBe('WAVEfmt ');
      expect(view.getUint16(20, true)).toBe(1);
      expect(view.getUint16(22, true)).toBe(1);
      expect(view.getUint16(34, true)).toBe(16);
      expect(bytes.subarray(36, 40).toString('latin1')).toBe('data');
      expect(view.getUint32(40, true)).toBe(bytes.byteLength - 44);
      return { rate: view.getUint32(24, true), seconds: (bytes.byteLength - 44) / 2 / view.getUint32(24, true) };
    };
    // As the model got it: every append; as the carrier got it: every chunk, back to back.
    const input = await wav(DUMP_FILES.callerToModel);
    const inputBytes = result.model!.inputAudio.reduce((n, b) => n + b.byteLength, 0);
    expect(input.rate).toBe(8000);
    expect(input.seconds * 8000).toBe(inputBytes);
    const toCarrier = await wav(DUMP_FILES.agentToCarrier);
    expect(toCarrier.seconds * 8000).toBe(result.carrier.chunks.reduce((n, c) => n + c.bytes.byteLength, 0));
    await wav(DUMP_FILES.agentHeard);

    const timeline = JSON.parse(await readFile(join(folder, DUMP_FILES.timeline), 'utf8')) as {
      failures: Array<{ id: string; at: number }>;
      markers: unknown[];
      verdicts: unknown[];
    };
    expect(timeline.failures.map((f) => f.id)).toEqual(['bargein.truncate']);
    expect(typeof timeline.failures[0]!.at).toBe('number');
    expect(timeline.markers.length).toBeGreaterThan(10);
    expect(timeline.verdicts.length).toBe(call.outcomes.length);

    const lines = async (name: string) =>
      (await readFile(join(folder, name), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const carrierLines = await lines(DUMP_FILES.carrierFrames);
    expect(carrierLines.length).toBe(result.carrier.wire.filter((w) => w.dir === 'sent').length);
    expect(
      carrierLines.filter((l) => (l.frame as { event?: string } | undefined)?.event === 'media').length,
    ).toBeGreaterThan(100);
    for (const line of carrierLines)
      expect(Object.keys(line).sort()).toEqual(['t', Object.keys(line).find((k) => k !== 't')!].sort());
    expect(carrierLines.every((l) => 'frame' in l || 'text' in l || 'binary' in l)).toBe(true);
    const bridgeLines = await lines(DUMP_FILES.bridgeFrames);
    expect(bridgeLines.every((l) => typeof l.t === 'number' && typeof l.sent === 'object')).toBe(true);
    expect(bridgeLines.some((l) => (l.sent as { event?: string }).event === 'clear')).toBe(true);
    expect((await lines(DUMP_FILES.modelEvents)).length).toBe(result.model!.events.length);
  });

  it('gives frames that `view` draws as a recording: the carrier’s and the bridge’s side on one axis', async () => {
    const folder = await writeCallDump(join(output, 'recording'), call);
    const carrier = await readFile(join(folder, DUMP_FILES.carrierFrames), 'utf8');
    const bridge = await readFile(join(folder, DUMP_FILES.bridgeFrames), 'utf8');
    const merged = [...carrier.trim().split('\n'), ...bridge.trim().split('\n')].sort(
      (a, b) => (JSON.parse(a) as { t: number }).t - (JSON.parse(b) as { t: number }).t,
    );
    const text = `${JSON.stringify({ trace: { name: 'recorded-barge-in', carrier: 'twilio', redacted: ['phone-numbers'] } })}\n${merged.join('\n')}\n`;
    const path = join(output, 'recorded-barge-in.jsonl.gz');
    await writeFile(path, gzipSync(text));
    const recording = await readRecording(path);
    expect(recording.name).toBe('recorded-barge-in');
    expect(recording.bridge.length).toBe(bridge.trim().split('\n').length);
    const t = recordingTimeline(recording);
    expect(nonZero(t.caller.samples)).toBe(true);
    expect(nonZero(t.agent.samples)).toBe(true);
    expect(t.markers.filter((m) => m.kind === 'clear')).toHaveLength(result.carrier.clears.length);
    expect(t.markers.filter((m) => m.kind === 'mark')).toHaveLength(result.carrier.marksSent);
    expect(t.markers.filter((m) => m.kind === 'start')).toHaveLength(1);
    expect(t.facts).toContainEqual(['redacted', 'phone-numbers']);

    const page = join(output, 'recorded-barge-in.html');
    expect(await viewCommand([path, '--out', page])).toBe(0);
    const html = await readFile(page, 'utf8');
    expect(html).toContain('Recorded call: recorded-barge-in');
    expect(html).toMatch(/<td class="status">not checked<\/td>/);
    expect(html).toMatch(/data-kind="clear"/);
    expect(await viewCommand([join(output, 'missing.jsonl')])).toBe(2);
    expect(await viewCommand([])).toBe(2);
  });
});

describe('size', () => {
  it('keeps the page of a five-minute call small', () => {
    const lines: string[] = [JSON.stringify({ trace: { name: 'five-minutes' } })];
    lines.push(
      JSON.stringify({
        t: 0,
        frame: {
          event: 'start',
          start: {
            streamSid: 'MZ1',
            callSid: 'CA1',
            customParameters: {},
            mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          },
        },
      }),
    );
    const tone = new Int16Array(160);
    for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin(i / 3));
    const payload = base64Encode(encodeMuLaw(tone));
    for (let k = 0; k < 15_000; k++) {
      const t = k * 20;
      lines.push(
        JSON.stringify({
          t,
          frame: { event: 'media', media: { track: 'inbound', chunk: String(k + 1), timestamp: String(t), payload } },
        }),
      );
      lines.push(JSON.stringify({ t: t + 5, sent: { event: 'media', streamSid: 'MZ1', media: { payload } } }));
      lines.push(JSON.stringify({ t: t + 5, sent: { event: 'mark', streamSid: 'MZ1', mark: { name: `m${k}` } } }));
      lines.push(JSON.stringify({ t: t + 25, frame: { event: 'mark', mark: { name: `m${k}` } } }));
    }
    const t = recordingTimeline(parseRecording(lines.join('\n'), 'five-minutes'));
    expect(t.durationMs).toBeGreaterThan(299_000);
    const html = renderTimelinesPage('five minutes', [t]);
    expect(html.length).toBeLessThan(1_000_000);
    expect(html).toContain('data-kind="mark" data-count="15000"');
  });
});
