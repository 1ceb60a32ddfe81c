/**
 * The barge-in checks: the carrier is cleared promptly, every item is truncated at what the caller
 * heard, the response in flight is cancelled, and none of it surfaces an error to the session.
 */
import {
  chunksByItem,
  emittedOf,
  fail,
  na,
  notDeclared,
  pass,
  type CheckOutcome,
  type ConformanceCheck,
} from './check-kit.js';
import type { ReplayResult } from './replay.js';
import { formatDurationMs } from './simulator/index.js';

/**
 * Barge-ins: the model heard the caller start speaking while the carrier still had audio to play
 * (a chunk plays from when the bridge sent it, or from when the carrier got it if that was
 * sooner). A starved carrier reads the bridge's frames late: audio the bridge sent before the
 * caller spoke that the carrier read only after counts as spoken over where the bridge cleared it.
 * Where it did not, the bridge may have been right: by the time a starved bridge heard of the
 * speech, that audio had played by its own reckoning (its playout clock, or an acknowledgement
 * that beat the speech to it).
 */
function bargeIns(result: ReplayResult): number[] {
  const starts = result.timeline.filter((e) => e.type === 'input_audio_buffer.speech_started').map((e) => e.at);
  const chunks = result.carrier.chunks;
  const early = clockSlackMs(result);
  return starts.filter((at, k) => {
    if (chunks.some((c) => c.receivedAt <= at && c.startAt + c.durationMs > at + 1)) return true;
    const next = starts[k + 1] ?? Infinity;
    return (
      chunks.some((c) => c.startAt <= at && c.receivedAt > at) &&
      result.carrier.clears.some((c) => c.sentAt >= at - early && c.sentAt < next)
    );
  });
}

/**
 * How much earlier than the speech the bridge's clear may seem to have been sent, stream ms: a
 * bridge in another process reports its send times on its own clock, which may count whole
 * milliseconds (workerd's does), so a clear sent within the millisecond after the speech can be
 * stamped up to a real millisecond before it.
 */
function clockSlackMs(result: ReplayResult): number {
  return Math.max(1, result.speed);
}

function responseInFlightAt(result: ReplayResult, at: number): string | undefined {
  let active: string | undefined;
  for (const e of result.timeline) {
    if (e.at > at) break;
    if (e.type === 'response.created') active = e.responseId;
    else if (e.type === 'response.done' && e.responseId === active) active = undefined;
  }
  return active;
}

/** A trace that declares a barge-in must produce one: otherwise the barge-in checks prove nothing. */
function noBargeIn(result: ReplayResult): CheckOutcome {
  return result.trace.header.hazards.includes('barge-in')
    ? fail('the trace declares a barge-in, but the caller never spoke over queued audio')
    : na('no barge-in in this call');
}

export const bargeInClear: ConformanceCheck = {
  id: 'bargein.clear',
  title: 'barge-in clears the carrier buffer promptly',
  naWhen: 'clear: false',
  run(result, options) {
    // A carrier that cannot be cleared plays out what it holds; the truncate says what was heard.
    if (!result.capabilities.clear) return notDeclared('clear: false');
    const barges = bargeIns(result);
    if (barges.length === 0) return noBargeIn(result);
    const bound = options.clearWithinMs * result.speed;
    for (const at of barges) {
      // When the bridge sent the clear: how late a starved carrier read it is no part of the bridge.
      const clear = result.carrier.clears.find((c) => c.sentAt >= at - clockSlackMs(result));
      if (!clear)
        return fail(`caller spoke at ${Math.round(at)} ms while audio was queued; the carrier never got a clear`);
      if (clear.sentAt - at > bound)
        return fail(`clear came ${Math.round((clear.sentAt - at) / result.speed)} ms (real) after speech started`);
    }
    return pass(`${barges.length} barge-in(s)`);
  },
};

/** Truncates more than this far (stream ms) from any clear belong to no barge-in. */
const TRUNCATE_WINDOW_MS = 1000;

/** What the model sent of each item, ms. */
function modelSentMs(result: ReplayResult): Map<string, number> {
  const sent = new Map<string, number>();
  const model = result.model;
  if (!model) return sent;
  for (const chunk of model.outputAudio)
    sent.set(
      chunk.itemId,
      (sent.get(chunk.itemId) ?? 0) + formatDurationMs(model.outputFormat, chunk.bytes.byteLength),
    );
  return sent;
}

/**
 * The items a clear cut: at each clear, the item the carrier was receiving (the last one it got
 * audio of since the clear before). An item followed by another's audio before the clear had
 * been delivered in full, as far as the bridge goes: a clear does not excuse what it lacks.
 */
function itemsCutByClears(result: ReplayResult): Set<string> {
  const cut = new Set<string>();
  let last: string | undefined;
  let next = 0;
  const chunks = result.carrier.chunks;
  for (const clear of result.carrier.clears) {
    for (; next < chunks.length && chunks[next]!.receivedAt <= clear.at; next++) last = chunks[next]!.itemId ?? last;
    if (last) cut.add(last);
    last = undefined;
  }
  return cut;
}

/**
 * Items whose audio a barge-in stopped short: cut by a clear, cancelled at a barge-in (the
 * response cancelled, or audio of it dropped after the bridge cancelled it), or truncated; with
 * `callEnd`, also a response the model was still generating when the call ended. What the carrier
 * got of them need only be a clean prefix; `bargein.truncate` judges what the model was told.
 */
export function interruptedItems(result: ReplayResult, options: { callEnd: boolean }): Set<string> {
  const model = result.model;
  const items = new Set<string>(Object.keys(result.droppedAfterCancel ?? {}));
  for (const t of model?.truncations ?? []) if (t.accepted) items.add(t.itemId);
  for (const r of model?.responses ?? [])
    if (r.status === 'cancelled' && (options.callEnd || r.cancelReason)) items.add(r.itemId);
  for (const id of itemsCutByClears(result)) items.add(id);
  return items;
}

/**
 * What each item's audio was cut at a second `start`: the old stream's playout ends with it. The
 * bridge is judged at the moment it took the new `start` (when it could first know of it, as a
 * `clear` is judged when it was sent): what the caller had heard of each item by then, on the
 * carrier's playout. The audio of the old stream still queued then was never heard. A carrier
 * that cannot clear (`clear: false`) is taken to play all it got, as at a barge-in.
 */
function cutByStarts(result: ReplayResult): Array<{ at: number; playedByItem: Record<string, number> }> {
  if (!result.capabilities.clear) return [];
  const taken = result.emitted.filter((e) => e.name === 'call_start').map((e) => e.at);
  return taken.slice(1).map((at) => {
    const playedByItem: Record<string, number> = {};
    for (const chunk of result.carrier.chunks) {
      if (!chunk.itemId || chunk.startAt >= at) continue;
      const heard = Math.min(chunk.playedMs ?? chunk.durationMs, at - chunk.startAt);
      playedByItem[chunk.itemId] = (playedByItem[chunk.itemId] ?? 0) + heard;
    }
    return { at, playedByItem };
  });
}

/** How many of the latest acknowledgements {@link ackLagAt} looks at. */
const ACK_LAG_WINDOW = 8;

/**
 * How late, at most, the carrier's latest acknowledgements reached the bridge before `at`, ms:
 * the time from the end of a mark's audio on the carrier's playout to when the bridge received
 * its acknowledgement (or, where the bridge does not tell, when the carrier sent it). An
 * acknowledgement is all a carrier tells of its playout, and a bridge cannot tell one that comes
 * late (a carrier starved of CPU, a slow way back) from a carrier that plays late: by that much,
 * a truncate may fall short of what the caller heard. On a machine with time to spare this is a
 * millisecond or two; a carrier without acknowledgements has none, and its bridge none to spare.
 */
function ackLagAt(result: ReplayResult, at: number): number {
  const { acks = [], marks = [], chunks } = result.carrier;
  const chunkCountOf = new Map(marks.map((m) => [m.name, m.chunkCount]));
  let lag = 0;
  let seen = 0;
  for (let i = acks.length - 1; i >= 0 && seen < ACK_LAG_WINDOW; i--) {
    const ack = acks[i]!;
    const known = ack.receivedAt ?? ack.at;
    if (ack.echo || known > at) continue;
    seen++;
    const count = chunkCountOf.get(ack.name);
    const chunk = count ? chunks[count - 1] : undefined;
    if (!chunk) continue;
    lag = Math.max(lag, known - (chunk.startAt + (chunk.playedMs ?? chunk.durationMs)));
  }
  return lag;
}

export const bargeInTruncate: ConformanceCheck = {
  id: 'bargein.truncate',
  title: 'truncate at what the caller heard (within tolerance, never beyond sent)',
  run(result, options) {
    if (!result.model) return fail('the model was never connected');
    const truncates = result.timeline.filter((e) => e.type === 'client:conversation.item.truncate');
    const clears = result.carrier.clears;
    const rejected = result.model.truncations.filter((t) => !t.accepted);
    if (rejected.length > 0 && (clears.length > 0 || truncates.length > 0)) {
      return fail(`the model rejected a truncate of ${rejected[0]!.itemId} at ${rejected[0]!.audioEndMs} ms`);
    }
    const sent = modelSentMs(result);
    const byItem = chunksByItem(result.carrier.chunks);
    // Every item a barge-in stopped short, with what the caller heard of it: at a clear, what it
    // had heard when the bridge sent the clear; at a second start, when the bridge took it;
    // otherwise all the carrier got of it.
    const judged = new Map<string, { heardMs: number; clearAt?: number }>();
    const cuts = [...clears.map((c) => ({ at: c.sentAt, playedByItem: c.playedByItem })), ...cutByStarts(result)];
    for (const cut of cuts.sort((a, b) => a.at - b.at)) {
      for (const [itemId, heard] of Object.entries(cut.playedByItem))
        if (!judged.has(itemId)) judged.set(itemId, { heardMs: heard, clearAt: cut.at });
    }
    for (const itemId of interruptedItems(result, { callEnd: false })) {
      if (judged.has(itemId)) continue;
      const heardMs = (byItem.get(itemId) ?? []).reduce((n, c) => n + (c.playedMs ?? c.durationMs), 0);
      judged.set(itemId, { heardMs });
    }
    const matched = new Set<(typeof truncates)[number]>();
    const errors: number[] = [];
    let maxLagMs = 0;
    for (const [itemId, { heardMs, clearAt }] of judged) {
      const sentMs = sent.get(itemId) ?? 0;
      const heard = Math.min(heardMs, sentMs);
      const open = truncates.filter((t) => t.itemId === itemId && !matched.has(t));
      // The truncate nearest the clear (a barge-in's own), else the one nearest what was heard
      // (sent when audio of the item arrived after the barge-in).
      const near =
        clearAt === undefined
          ? []
          : open
              .filter((t) => Math.abs(t.at - clearAt) <= TRUNCATE_WINDOW_MS)
              .sort((a, b) => Math.abs(a.at - clearAt) - Math.abs(b.at - clearAt));
      const t =
        near[0] ??
        open.sort((a, b) => Math.abs((a.audioEndMs ?? 0) - heard) - Math.abs((b.audioEndMs ?? 0) - heard))[0];
      if (!t) {
        if (heard >= sentMs - Math.max(1, options.truncateToleranceMs)) continue; // heard in full: nothing to truncate
        return fail(
          `item ${itemId}: caller heard ${Math.round(heard)} of the ${Math.round(sentMs)} ms the model sent, no truncate`,
        );
      }
      matched.add(t);
      const audioEndMs = t.audioEndMs ?? 0;
      // Short of what was heard by no more than the carrier's acknowledgements came late (see
      // `ackLagAt`): what the bridge could know; never beyond it.
      const lagMs = clearAt === undefined || audioEndMs >= heard ? 0 : ackLagAt(result, clearAt);
      const error = Math.max(0, Math.abs(audioEndMs - heard) - lagMs);
      errors.push(error);
      maxLagMs = Math.max(maxLagMs, lagMs);
      if (error > options.truncateToleranceMs) {
        const late =
          lagMs >= 1 ? ` (its playback acknowledgements reached the bridge up to ${Math.round(lagMs)} ms late)` : '';
        return fail(`item ${itemId}: truncated at ${audioEndMs} ms, caller heard ${Math.round(heard)} ms${late}`);
      }
    }
    const orphans = truncates.filter((t) => !matched.has(t));
    if (clears.length === 0) {
      if (orphans.length > 0) return fail(`${orphans.length} truncate(s) without any barge-in`);
      const barged = bargeIns(result).length > 0;
      // A carrier that cannot be cleared plays all it got: the items a barge-in stopped short were
      // judged above against all of it; one it stopped nothing of was heard in full.
      if (barged && !result.capabilities.clear && errors.length === 0)
        return na('the carrier cannot clear (clear: false) and the caller heard every item in full');
      if (barged && result.capabilities.clear) return fail('no clear, so nothing to compare');
      if (errors.length === 0) return noBargeIn(result);
    }
    if (orphans.length > 0)
      return fail(`truncate of ${orphans[0]!.itemId} at ${orphans[0]!.audioEndMs} ms belongs to no barge-in`);
    if (errors.length === 0) return na('every cleared item had been heard in full');
    const lag = maxLagMs >= 1 ? ` beyond acknowledgements up to ${Math.round(maxLagMs)} ms late` : '';
    return pass(`max error ${Math.max(...errors).toFixed(1)} ms over ${errors.length} truncation(s)${lag}`);
  },
};

/**
 * Whether the bridge cancelled response `responseId` at the barge-in at `at`, by id, and the model
 * had finished it by the time the cancel arrived (it answered that no such response was active):
 * the bridge did cancel; the network made the response's end come first.
 */
function cancelCrossedEnd(result: ReplayResult, responseId: string, at: number): boolean {
  const sent = result.timeline.some(
    (e) => e.type === 'client:response.cancel' && e.responseId === responseId && e.at >= at - 1,
  );
  return sent && (result.model?.cancels ?? []).some((c) => c.responseId === responseId && !c.active);
}

export const bargeInCancel: ConformanceCheck = {
  id: 'bargein.cancel',
  title: 'barge-in cancels the response in flight',
  run(result) {
    const barges = bargeIns(result);
    if (barges.length === 0) return noBargeIn(result);
    let cancelled = 0;
    let crossed = 0;
    for (const at of barges) {
      const responseId = responseInFlightAt(result, at);
      if (!responseId) continue;
      const status = result.model?.responses.find((r) => r.id === responseId)?.status;
      if (status !== 'cancelled' && !cancelCrossedEnd(result, responseId, at)) {
        return fail(`response ${responseId} was generating at barge-in and ended ${status ?? 'unknown'}`);
      }
      if (status !== 'cancelled') crossed++;
      cancelled++;
    }
    const detail = crossed > 0 ? ` (${crossed} cancel(s) reached the model just after the response ended)` : '';
    return cancelled === 0 ? na('no response was generating at barge-in') : pass(`${cancelled} cancelled${detail}`);
  },
};

/** Client events a barge-in sends; an error the model answers one of them with is the barge-in's. */
const BARGE_IN_EVENTS = new Set(['response.cancel', 'conversation.item.truncate']);

/**
 * The model's `error` events that the session saw (the transport emitted them as `error`) and that a
 * barge-in caused: a refused cancel (`response_cancel_not_active`: the response was over, or the
 * server's own turn detection had cancelled it), or an error naming one of the bridge's cancels or
 * truncates by event id, or the one the model sent for a cancel it rejected as invalid.
 */
export function bargeInErrorEvents(result: ReplayResult): Array<{ at: number; code: string; message: string }> {
  const clientTypes = new Map<string, string>();
  for (const { event } of result.model?.events ?? []) {
    if (typeof event.event_id === 'string' && typeof event.type === 'string')
      clientTypes.set(event.event_id, event.type);
  }
  // A truncate the model rejected is `bargein.truncate`'s to judge (with its retries); a cancel it
  // rejected is this check's.
  const rejected = (result.model?.violations ?? []).filter(
    (v) => (v.event as { type?: string } | null)?.type === 'response.cancel',
  );
  const found: Array<{ at: number; code: string; message: string }> = [];
  for (const { at, name, args } of result.emitted) {
    if (name !== 'error') continue;
    // A model error reaches the session as `{ type: 'error', error: <the model's error event> }`.
    const event = (
      args[0] as
        | { error?: { type?: unknown; error?: { code?: unknown; message?: unknown; event_id?: unknown } | null } }
        | undefined
    )?.error;
    if (event?.type !== 'error' || !event.error) continue;
    const code = typeof event.error.code === 'string' ? event.error.code : '';
    const message = typeof event.error.message === 'string' ? event.error.message : '';
    const eventId = typeof event.error.event_id === 'string' ? event.error.event_id : undefined;
    const caused =
      code === 'response_cancel_not_active' ||
      (eventId !== undefined && BARGE_IN_EVENTS.has(clientTypes.get(eventId) ?? '')) ||
      rejected.some((v) => v.code === code && v.issues === message);
    if (caused) found.push({ at, code, message });
  }
  return found;
}

export const bargeInErrors: ConformanceCheck = {
  id: 'bargein.errors',
  title: 'a barge-in surfaces no error to the session',
  run(result) {
    const errors = bargeInErrorEvents(result);
    const mode = result.sessionTurnDetection ?? result.turnDetection;
    const where = `turn detection ${mode}${result.sessionTurnDetection && result.sessionTurnDetection !== result.turnDetection ? ` (asked for ${result.turnDetection})` : ''}`;
    if (errors.length > 0) {
      const first = errors[0]!;
      return fail(
        `${errors.length} error event(s) from barge-in, first at ${Math.round(first.at)} ms: ${first.code || 'error'}: ${first.message} (${where})`,
      );
    }
    const barges = bargeIns(result);
    // A barge-in that did not happen (a stall moved it) is the timing checks' to report.
    if (barges.length === 0) return na(`no barge-in in this call (${where})`);
    return pass(
      `${barges.length} barge-in(s), ${emittedOf(result, 'error').length} error event(s) in all, none from barge-in (${where})`,
    );
  },
};
