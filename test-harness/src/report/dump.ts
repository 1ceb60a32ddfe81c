/**
 * `--dump`: what an adapter author needs to see a failing call for themselves, as plain files: both
 * audio tracks as WAV, the timeline as JSON, and the frames each side of the carrier's socket sent
 * (JSON Lines in the trace format's v2 line shapes, so the pair reads like a recording).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64Encode } from '@switchboard/core';
import { concatPcm, decodeCarrierAudio, decodeModelAudio, wavFile } from './audio.js';
import type { ReportCall } from './model.js';
import { replayTimeline } from './timeline.js';

/** A name safe as one path segment. */
export function safeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return cleaned.slice(0, 80) || 'unnamed';
}

/** The files {@link writeCallDump} writes into a call's folder. */
export const DUMP_FILES = {
  callerToModel: 'caller-to-model.wav',
  agentToCarrier: 'agent-to-carrier.wav',
  agentHeard: 'agent-heard.wav',
  timeline: 'timeline.json',
  carrierFrames: 'carrier-frames.jsonl',
  bridgeFrames: 'bridge-frames.jsonl',
  modelEvents: 'model-client-events.jsonl',
} as const;

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function frameLine(
  at: number,
  data: string | Uint8Array,
  keys: { json: string; text: string; binary: string },
): string {
  const t = round(Math.max(0, at));
  if (typeof data !== 'string') return JSON.stringify({ t, [keys.binary]: base64Encode(data) });
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return JSON.stringify({ t, [keys.json]: parsed });
  } catch {
    // Not JSON: kept as text.
  }
  return JSON.stringify({ t, [keys.text]: data });
}

/**
 * Writes one call's files into `<dir>/<adapter>/<trace>/<turn detection>/` and returns that folder:
 * `caller-to-model.wav` (the caller's audio as the model got it), `agent-to-carrier.wav` (the
 * agent's audio as the carrier got it, back to back), `agent-heard.wav` (the same on the call's
 * clock, cut where a clear stopped it), `timeline.json`, `carrier-frames.jsonl`,
 * `bridge-frames.jsonl` and `model-client-events.jsonl`.
 */
export async function writeCallDump(dir: string, call: ReportCall): Promise<string> {
  const folder = join(dir, safeSegment(call.adapter), safeSegment(call.trace), safeSegment(call.turnDetection));
  await mkdir(folder, { recursive: true });
  const { result } = call;
  const log = result.carrier;
  const timeline = replayTimeline(call);

  const model = result.model;
  const input = model ? model.inputAudio.map((bytes) => decodeModelAudio(model.inputFormat, bytes)) : [];
  const inputRate =
    input[0]?.sampleRate ?? (model ? decodeModelAudio(model.inputFormat, new Uint8Array(0)).sampleRate : 8000);
  const toCarrier = concatPcm(log.chunks.map((c) => decodeCarrierAudio(result.carrierFormat, c.bytes)));

  const { markers, spans, failures, verdicts, facts, durationMs } = timeline;
  const files: Array<[string, string | Uint8Array]> = [
    [DUMP_FILES.callerToModel, wavFile(concatPcm(input.map((i) => i.samples)), inputRate)],
    [DUMP_FILES.agentToCarrier, wavFile(toCarrier, result.carrierFormat.sampleRate)],
    [DUMP_FILES.agentHeard, wavFile(timeline.agent.samples, timeline.agent.sampleRate)],
    [
      DUMP_FILES.timeline,
      `${JSON.stringify({ title: timeline.title, adapter: call.adapter, trace: call.trace, turnDetection: call.turnDetection, durationMs: round(durationMs), facts: facts.map(([name, value]) => ({ name, value })), verdicts, failures, markers, spans, modelTimeline: result.timeline }, null, 2)}\n`,
    ],
    [
      DUMP_FILES.carrierFrames,
      log.wire
        .filter((w) => w.dir === 'sent')
        .map((w) => frameLine(w.at, w.data, { json: 'frame', text: 'text', binary: 'binary' }))
        .join('\n') + '\n',
    ],
    [
      DUMP_FILES.bridgeFrames,
      log.wire
        .filter((w) => w.dir === 'received')
        .map((w) => frameLine(w.at, w.data, { json: 'sent', text: 'sentText', binary: 'sentBinary' }))
        .join('\n') + '\n',
    ],
    [
      DUMP_FILES.modelEvents,
      (model?.events ?? []).map((e) => JSON.stringify({ at: round(e.at), event: e.event })).join('\n') + '\n',
    ],
  ];
  for (const [name, data] of files) await writeFile(join(folder, name), data);
  return folder;
}
