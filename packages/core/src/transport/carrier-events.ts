import { modelBytesPerMs } from '../codec.js';
import type { MediaFrame } from '../connection.js';
import { toProtocolError } from '../errors.js';
import { logger } from '../log.js';
import type { HeldOutput } from '../prewarm/held-output.js';
import type { CallEvent } from '../types.js';
import type { Call } from './call.js';
import { sameFormat, type CallStartEvent } from './events.js';

const log = logger('core');

/**
 * Carrier → call: one frame from the carrier socket, decoded by the protocol into call events,
 * each handed to the unit it concerns. Nothing a carrier sends throws out of here.
 */
export function onCarrierFrame(call: Call, frame: MediaFrame): void {
  if (call.life.ended) return;
  call.metrics.framesIn++;
  let events: CallEvent[];
  try {
    events = call.protocol.decode(frame);
  } catch (error) {
    call.metrics.malformedFrames++;
    call.emitError(toProtocolError(call.protocol.name, error, frame));
    return;
  }
  call.recorder?.decoded(events);
  try {
    emitRaw(call, frame);
    for (const event of events) onCallEvent(call, event);
  } catch (error) {
    call.emitError(error);
  }
}

function emitRaw(call: Call, frame: MediaFrame): void {
  try {
    const message = call.protocol.rawMessage ? call.protocol.rawMessage(frame) : frame;
    call.emit('*', { type: call.rawEventType, message });
  } catch (error) {
    // A listener that throws must not cost the frame its audio.
    call.emitError(error);
  }
}

export function onCallEvent(call: Call, event: CallEvent): void {
  switch (event.type) {
    case 'audio':
      if (call.observers.size > 0) call.observers.callerAudio(event.payload, call.input.format, call.now());
      call.input.onAudio(event);
      return;
    case 'call_start':
      onCallStart(call, event);
      return;
    case 'dtmf':
      call.metrics.dtmfDigits++;
      call.emitExtra('dtmf', event);
      return;
    case 'playback_ack':
      if (call.ledger.ack(event.name) !== 'acked') call.metrics.staleAcks++;
      else {
        call.features.acked();
      }
      return;
    case 'playback_cleared':
      return;
    case 'flow_control':
      call.output.flowControl(event.paused);
      return;
    case 'call_end':
      try {
        call.input.flushReorder();
      } finally {
        call.finish(call.features.endingAs ?? event.reason ?? 'carrier_stop');
      }
      return;
  }
}

function onCallStart(call: Call, event: CallStartEvent): void {
  const second = call.streamId !== undefined;
  call.input.newStream();
  call.streamId = event.streamId;
  call.callStart = event;
  if (second) {
    // A new stream: whatever the old one was still playing is gone. Tell the model what the
    // caller heard, and stop a response that would play into the new stream mid-sentence.
    call.responses.newStream();
    call.output.newStream();
  }
  if (!sameFormat(event.format, call.input.format)) {
    call.output.setFormat(event.format);
    if (call.input.setFormat(event.format) && call.sessionReady && call.modelConnected()) {
      log('carrier format %s@%d: updating the model session format', event.format.encoding, event.format.sampleRate);
      call.sendFormatUpdate();
    }
  }
  log('call_start stream=%s format=%s@%d', event.streamId, event.format.encoding, event.format.sampleRate);
  call.emitExtra('call_start', event);
  if (call.held && !call.life.ended) releaseHeld(call, call.held);
}

/** Plays what the model said before a pre-warmed call's stream started. */
function releaseHeld(call: Call, held: HeldOutput): void {
  held.release(
    {
      cancelled: (key) => call.responses.isCancelled(key.responseId),
      play: (key, audio) => {
        call.ledger.addContent(key, audio.byteLength / modelBytesPerMs(call.input.modelFormat));
        call.features.modelAudio();
        call.output.push(key, audio);
      },
      flush: (key) => call.output.flush(key),
      dropped: (bytes) => (call.metrics.outputDroppedNoStreamBytes += bytes),
      done: (responseId) => call.ledger.responseDone(responseId),
    },
    call.input.modelFormat,
  );
}

/** The carrier's socket closed: what the reorder window still holds goes to the model, then the call ends. */
export function onCarrierClose(call: Call, code?: number, reason?: string): void {
  log('carrier socket closed (%s %s)', code, reason ?? '');
  try {
    call.input.flushReorder();
  } catch (error) {
    call.emitError(error);
  } finally {
    call.finish(call.features.endingAs ?? 'carrier_closed');
  }
}
