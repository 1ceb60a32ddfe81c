import type { TelephonyRealtimeTransport } from '../transport.js';
import type { Call } from './call.js';
import { bridgeFailed, faults } from './faults.js';
import { ModelMessages, type ModelMessageHost } from './model-events.js';

/** What the model link needs of the transport class itself (its SDK internals). */
export type ModelLinkHost = Pick<ModelMessageHost, 'sdkMessage' | 'audio'>;

/**
 * Model → call: the model's messages, each parsed once (`model-events.ts`), and the SDK events the
 * call's units follow (responses, speech, the model socket's state). Returns the parser the
 * transport hands every model message to.
 */
export function linkModel(call: Call, transport: TelephonyRealtimeTransport, host: ModelLinkHost): ModelMessages {
  const model = new ModelMessages({
    sdkMessage: host.sdkMessage,
    emit: (name, event) => call.emitSafely(name, event),
    emitError: (error) => call.emitError(error),
    socket: () => transport.connectionState.websocket,
    audioDelta: (delta) => {
      call.responses.current = {
        responseId: delta.response_id,
        itemId: delta.item_id,
        contentIndex: delta.content_index,
      };
    },
    audio: host.audio,
    awaitingModel: () => call.life.awaitingModel,
    modelReady: () => call.life.modelReady(),
    refusedOwnCancel: (text) => call.responses.refusedOwnCancel(text),
  });
  transport.on('response.output_audio.delta', (event) => {
    call.responses.current = {
      responseId: event.response_id,
      itemId: event.item_id,
      contentIndex: event.content_index,
    };
  });
  transport.on('response.output_audio.done', () => call.flushOutput());
  transport.on('response.created', (event) => {
    const id = event.response.id;
    if (!id) return;
    call.responses.created(id);
    call.features.responseCreated(id);
  });
  transport.on('response.done', (event) => {
    if (!event.response.id) return;
    call.responses.done(event.response.id);
    call.features.responseDone();
    if (!call.streamId) call.held?.holdDone(event.response.id);
  });
  transport.on('input_audio_buffer.speech_started', () => call.input.speechStarted());
  transport.on('input_audio_buffer.speech_stopped', () => {
    call.input.speechStopped();
    call.output.speechStopped();
  });
  transport.on('connection_change', (status) => {
    if (status === 'connected') {
      call.modelWasConnected = true;
      return;
    }
    call.sessionReady = false;
    call.audioItemId = call.audioContentIndex = undefined;
    call.responses.disconnected();
    call.input.disarmInactivity();
    if (status !== 'disconnected' || !call.modelWasConnected || call.closing || call.life.ended) return;
    if (call.life.awaitingModel) {
      // The service closed the socket before it set the session up: the model could not be
      // reached for this call, which is not a call that lost its model halfway.
      const failure = faults.modelConnectFailed(new Error('the service closed the connection before session.created'));
      call.connectFailure = failure;
      call.fail(failure, 'model_connect_failed', bridgeFailed(failure));
    } else {
      // The model socket closed while the call was still on (the service dropped it, a network
      // failure): the caller would be left on a silent line. Say so, and end the call.
      call.fail(faults.modelLost());
    }
  });
  return model;
}
