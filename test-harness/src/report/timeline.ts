/**
 * A replay as a timeline: both voices, the model's turns, marks and acknowledgements, clears,
 * truncations against what the caller had heard, DTMF, gaps, latency, and where each failed check
 * went wrong. Times are the replay's stream ms.
 */
import { INJECTED_ITEM } from '../call-features.js';
import { decodeCarrierAudio, placeAudio } from './audio.js';
import { readCarrierFrames } from './frames.js';
import type { CallTimeline, ReportCall, TimelineFailure, TimelineMarker, TimelineSpan, Verdict } from './model.js';

/** Events of the transport worth a marker in the bridge's lane. */
const BRIDGE_EVENTS = new Set(['call_start', 'dtmf', 'call_end', 'error', 'audio_interrupted', 'injected_audio']);

const fmt = (ms: number) => `${Math.round(ms)} ms`;

/** Resamples by picking the nearest sample (enough for a picture). */
function toRate(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  const out = new Int16Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) out[i] = samples[Math.min(samples.length - 1, Math.floor((i * from) / to))]!;
  return out;
}

function describe(value: unknown): string {
  try {
    const textOf = JSON.stringify(value);
    return textOf === undefined ? String(value) : textOf.length > 400 ? `${textOf.slice(0, 400)}…` : textOf;
  } catch {
    return String(value);
  }
}

/** The timeline of one replay. */
export function replayTimeline(call: ReportCall): CallTimeline {
  const { result } = call;
  const log = result.carrier;
  const end = Math.max(
    result.durationMs,
    ...log.chunks.map((c) => c.startAt + c.durationMs),
    ...log.traceFramesSent.map((f) => f.at),
  );
  const markers: TimelineMarker[] = [];
  const spans: TimelineSpan[] = [];

  // The caller's side: the trace's frames as they went out.
  const carrier = readCarrierFrames(log.traceFramesSent, { marks: false });
  markers.push(...carrier.markers);
  spans.push(...carrier.spans);
  const rate = carrier.format.sampleRate;
  const caller = placeAudio(
    carrier.audio.map((a) => ({ at: a.at, samples: toRate(a.samples, a.sampleRate, rate) })),
    rate,
    end,
  );
  for (const pause of log.pauses) {
    const from = pause.at - pause.realMs * result.speed;
    spans.push({
      from,
      to: pause.at,
      lane: 'caller',
      kind: 'pause',
      label: 'caller paused',
      detail: `no media went out for ${fmt(pause.realMs)} (real time)`,
    });
  }
  const malformed = log.malformed ?? [];
  if (malformed.length > 0) {
    markers.push({
      at: malformed[0]!.at,
      lane: 'carrier',
      kind: 'malformed',
      label: `${malformed.length} malformed`,
      detail: `the carrier sent ${malformed.length} malformed frames`,
    });
  }

  // The agent's side: what the carrier played, cut where a clear stopped it.
  const agentRate = result.carrierFormat.sampleRate;
  const agent = placeAudio(
    log.chunks.map((c) => {
      const pcm = decodeCarrierAudio(result.carrierFormat, c.bytes);
      const played = Math.round(((c.playedMs ?? c.durationMs) * agentRate) / 1000);
      return { at: c.startAt, samples: pcm.subarray(0, Math.min(pcm.length, played)) };
    }),
    agentRate,
    end,
  );
  for (const mark of log.marks)
    markers.push({
      at: mark.at,
      lane: 'carrier',
      kind: 'mark',
      label: 'mark',
      detail: `the bridge sent mark ${mark.name}`,
    });
  for (const ack of log.acks)
    markers.push({
      at: ack.at,
      lane: 'carrier',
      kind: 'ack',
      label: 'ack',
      detail: `the carrier acknowledged mark ${ack.name}`,
    });
  for (const clear of log.clears) {
    const heard = Object.entries(clear.playedByItem)
      .map(([item, ms]) => `${item}: ${fmt(ms)}`)
      .join(', ');
    markers.push({
      at: clear.at,
      lane: 'agent',
      kind: 'clear',
      label: 'clear',
      detail: `received ${fmt(clear.at)}, sent by the bridge at ${fmt(clear.sentAt)}; the caller had heard ${heard || 'nothing'}; ${fmt(clear.discardedMs)} discarded`,
    });
    if (clear.discardedMs > 0)
      spans.push({
        from: clear.at,
        to: clear.at + clear.discardedMs,
        lane: 'agent',
        kind: 'discarded',
        label: `${fmt(clear.discardedMs)} discarded`,
        detail: 'queued audio the clear threw away',
      });
  }
  for (const { at, command } of log.otherCommands) {
    const label = command.type === 'dtmf' ? `DTMF out ${command.digits}` : command.type;
    markers.push({
      at,
      lane: 'carrier',
      kind: command.type === 'hangup' ? 'hangup' : 'dtmf',
      label,
      detail: `the bridge sent ${describe(command)}`,
    });
  }
  for (const rejected of log.rejected)
    markers.push({ at: rejected.at, lane: 'carrier', kind: 'error', label: 'rejected', detail: rejected.error });
  if (log.endedAt !== undefined)
    markers.push({
      at: log.endedAt,
      lane: 'carrier',
      kind: 'hangup',
      label: 'caller ends',
      detail: 'the caller sent its stop or hung up',
    });
  if (log.bridgeEnded !== undefined)
    markers.push({
      at: log.bridgeEnded.at,
      lane: 'carrier',
      kind: 'hangup',
      label: 'bridge ends',
      detail:
        log.bridgeEnded.by === 'hangup'
          ? 'the bridge sent a hangup command: the carrier ended the call'
          : 'the bridge closed the media socket: the call is over for the caller',
    });
  // Audio the bridge injected (not the model's), one span per run of its chunks as the caller heard them.
  let run: { from: number; to: number; chunks: number } | undefined;
  const injectedRuns: Array<{ from: number; to: number; chunks: number }> = [];
  for (const chunk of log.chunks) {
    if (chunk.itemId !== INJECTED_ITEM) {
      run = undefined;
      continue;
    }
    const to = chunk.startAt + (chunk.playedMs ?? chunk.durationMs);
    if (run) {
      run.to = Math.max(run.to, to);
      run.chunks++;
    } else injectedRuns.push((run = { from: chunk.startAt, to, chunks: 1 }));
  }
  for (const r of injectedRuns)
    spans.push({
      from: r.from,
      to: r.to,
      lane: 'agent',
      kind: 'injected',
      label: `injected ${fmt(r.to - r.from)}`,
      detail: `audio the bridge played that is not the model's (${r.chunks} chunks)`,
    });

  // The model's side.
  const responses = new Map((result.model?.responses ?? []).map((r) => [r.id, r]));
  const speechStart = new Map<string, number>();
  for (const entry of result.timeline) {
    if (entry.type === 'input_audio_buffer.speech_started') {
      markers.push({
        at: entry.at,
        lane: 'model',
        kind: 'speech_started',
        label: 'speech started',
        detail: `the model heard the caller start (${entry.itemId ?? ''})`,
      });
      if (entry.itemId) speechStart.set(entry.itemId, entry.at);
    } else if (entry.type === 'input_audio_buffer.speech_stopped') {
      markers.push({
        at: entry.at,
        lane: 'model',
        kind: 'speech_stopped',
        label: 'speech stopped',
        detail: `the model heard the caller stop (${entry.itemId ?? ''})`,
      });
      const from = entry.itemId ? speechStart.get(entry.itemId) : undefined;
      if (from !== undefined)
        spans.push({
          from,
          to: entry.at,
          lane: 'caller',
          kind: 'speech',
          label: 'speech (model VAD)',
          detail: `the model's VAD: ${fmt(from)} to ${fmt(entry.at)}`,
        });
      // Response latency: from the end of the caller's turn to the first audio the caller heard after it.
      const next = log.chunks.find((c) => c.startAt >= entry.at);
      const nextSpeech = result.timeline.find((e) => e.type === 'input_audio_buffer.speech_started' && e.at > entry.at);
      if (next && (!nextSpeech || next.startAt < nextSpeech.at)) {
        spans.push({
          from: entry.at,
          to: next.startAt,
          lane: 'agent',
          kind: 'latency',
          label: `latency ${fmt(next.startAt - entry.at)}`,
          detail: 'from the model hearing the caller stop to the first reply audio the caller heard',
        });
      }
    } else if (entry.type === 'response.created') {
      const done = result.timeline.find((e) => e.type === 'response.done' && e.responseId === entry.responseId);
      const response = entry.responseId ? responses.get(entry.responseId) : undefined;
      const status = done?.status ?? response?.status ?? 'in_progress';
      const what =
        response?.kind === 'function_call'
          ? 'function call'
          : response?.transcript
            ? `“${response.transcript}”`
            : 'turn';
      spans.push({
        from: entry.at,
        to: done?.at ?? end,
        lane: 'model',
        kind: 'turn',
        status,
        label: `${what} (${status})`,
        detail: `${entry.responseId ?? ''} item ${response?.itemId ?? ''}: ${status}${response ? `, ${fmt(response.audioMsSent)} of ${fmt(response.audioMsTotal)} audio sent` : ''}`,
      });
    } else if (entry.type === 'client:response.cancel') {
      markers.push({
        at: entry.at,
        lane: 'model',
        kind: 'cancel',
        label: 'cancel',
        detail: `the bridge cancelled ${entry.responseId ?? 'the response'}`,
      });
    } else if (entry.type === 'client:conversation.item.truncate') {
      const clear = [...log.clears]
        .reverse()
        .find((c) => entry.itemId !== undefined && c.playedByItem[entry.itemId] !== undefined);
      const heard = clear && entry.itemId ? clear.playedByItem[entry.itemId]! : undefined;
      const off =
        heard === undefined || entry.audioEndMs === undefined ? '' : ` (off by ${fmt(entry.audioEndMs - heard)})`;
      markers.push({
        at: entry.at,
        lane: 'model',
        kind: 'truncate',
        label: `truncate ${entry.audioEndMs ?? '?'} ms${heard === undefined ? '' : ` (heard ${Math.round(heard)})`}`,
        detail: `the bridge truncated ${entry.itemId ?? ''} at ${entry.audioEndMs ?? '?'} ms; the caller had heard ${heard === undefined ? 'an unknown amount' : fmt(heard)}${off}`,
      });
    }
  }

  // The bridge's side: what the transport emitted.
  for (const emitted of result.emitted) {
    if (!BRIDGE_EVENTS.has(emitted.name)) continue;
    const arg = emitted.args[0] as
      | {
          error?: { code?: string; message?: string; frameExcerpt?: string };
          digit?: string;
          phase?: string;
          reason?: string;
        }
      | undefined;
    const kind =
      emitted.name === 'error'
        ? 'error'
        : emitted.name === 'call_start'
          ? 'call_start'
          : emitted.name === 'call_end'
            ? 'call_end'
            : emitted.name === 'dtmf'
              ? 'dtmf'
              : 'event';
    const label =
      emitted.name === 'dtmf'
        ? `dtmf ${arg?.digit ?? ''}`
        : emitted.name === 'error'
          ? `error ${arg?.error?.code ?? ''}`
          : emitted.name === 'injected_audio'
            ? `injected ${arg?.phase ?? ''}${arg?.reason ? ` (${arg.reason})` : ''}`
            : emitted.name === 'call_end' && arg?.reason
              ? `call_end ${arg.reason}`
              : emitted.name;
    markers.push({ at: emitted.at, lane: 'bridge', kind, label, detail: describe(emitted.args[0]) });
  }
  if (result.modelClosedAt !== undefined)
    markers.push({
      at: result.modelClosedAt,
      lane: 'bridge',
      kind: 'event',
      label: 'model closed',
      detail: 'the model socket closed',
    });

  const facts: Array<[string, string]> = [
    ['adapter', call.adapter],
    [
      'trace',
      `${result.trace.header.name}${result.trace.header.description ? ` — ${result.trace.header.description}` : ''}`,
    ],
    [
      'turn detection',
      result.sessionTurnDetection && result.sessionTurnDetection !== result.turnDetection
        ? `${result.sessionTurnDetection} (asked ${result.turnDetection})`
        : call.turnDetection,
    ],
    ['speed', `${result.speed}x`],
    ['carrier format', `${result.carrierFormat.encoding}/${result.carrierFormat.sampleRate}`],
    ...(result.model
      ? ([['model formats', `in ${result.model.inputFormat.type}, out ${result.model.outputFormat.type}`]] as Array<
          [string, string]
        >)
      : []),
    ...carrier.facts,
    [
      'frames',
      `${log.framesSent} sent by the carrier, ${log.wire.filter((w) => w.dir === 'received').length} received from the bridge; ${log.marksSent} marks, ${log.acksSent} acks, ${log.clears.length} clears`,
    ],
  ];
  const latencies = (result.metrics as { responseLatenciesMs?: number[] } | undefined)?.responseLatenciesMs;
  if (Array.isArray(latencies) && latencies.length > 0)
    facts.push(['response latency (bridge metrics)', latencies.map(fmt).join(', ')]);
  for (const failure of result.failures) facts.push(['replay failure', failure]);

  const timeline: CallTimeline = {
    title: `${call.adapter} · ${call.trace} · ${call.turnDetection}`,
    adapter: call.adapter,
    trace: call.trace,
    turnDetection: call.turnDetection,
    facts,
    durationMs: end,
    caller,
    agent,
    markers: markers.sort((a, b) => a.at - b.at),
    spans,
    verdicts: call.outcomes.map(({ id, title, status, detail }): Verdict => ({ id, title, status, detail })),
    failures: [],
  };
  timeline.failures = call.outcomes
    .filter((o) => o.status === 'fail')
    .map((o): TimelineFailure => ({
      id: o.id,
      title: o.title,
      detail: o.detail,
      at: typeof o.at === 'number' && Number.isFinite(o.at) ? o.at : locateFailure(o.id, timeline),
    }));
  return timeline;
}

/**
 * Where on the timeline a failed check went wrong, when its subject has a moment: the barge-in
 * checks at the clear (else the truncate, the cancel, the caller speaking over the reply), DTMF at
 * the first digit, metadata at the start, the lifecycle at the call's end, malformed frames where
 * they went in. Other checks judge the whole call: undefined.
 */
export function locateFailure(id: string, timeline: Pick<CallTimeline, 'markers' | 'spans'>): number | undefined {
  const first = (...kinds: TimelineMarker['kind'][]) => timeline.markers.find((m) => kinds.includes(m.kind))?.at;
  switch (id) {
    case 'bargein.clear':
      return first('clear') ?? bargeIn(timeline);
    case 'bargein.truncate':
      return first('truncate') ?? first('clear') ?? bargeIn(timeline);
    case 'bargein.cancel':
      return first('cancel') ?? bargeIn(timeline);
    case 'bargein.errors':
      return (
        timeline.markers.find(
          (m) => m.kind === 'error' && m.lane === 'bridge' && m.at >= (bargeIn(timeline) ?? Infinity),
        )?.at ?? bargeIn(timeline)
      );
    case 'dtmf.order':
      return first('dtmf');
    case 'metadata.first':
      return first('call_start', 'start');
    case 'lifecycle.close':
      return first('call_end', 'stop', 'hangup');
    case 'errors.malformed':
      return first('malformed');
    case 'hangup.after_playback':
      return timeline.markers.find((m) => m.kind === 'hangup' && m.label === 'bridge ends')?.at ?? first('call_end');
    case 'audio.injected':
      return timeline.spans.find((s) => s.kind === 'injected')?.from;
    default:
      return undefined;
  }
}

/** The first time the model heard the caller start while the caller was hearing the agent. */
function bargeIn(timeline: Pick<CallTimeline, 'markers' | 'spans'>): number | undefined {
  const turns = timeline.spans.filter((s) => s.kind === 'turn');
  return timeline.markers.find((m) => m.kind === 'speech_started' && turns.some((t) => t.from <= m.at && m.at <= t.to))
    ?.at;
}
