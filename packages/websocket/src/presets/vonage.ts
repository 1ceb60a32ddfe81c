/**
 * Vonage Voice API WebSocket (NCCO `connect` to a `websocket` endpoint).
 *
 * Carrier → bridge: `{"event":"websocket:connected","content-type":"audio/l16;rate=16000", ...headers}`
 * first (the NCCO endpoint's `headers`, echoed; older accounts send it without `event`), then
 * binary L16 frames of 20 ms;
 * `websocket:dtmf` (digit, duration in ms), `websocket:cleared` (after a clear),
 * `websocket:notify` (a notify's payload, once the audio queued before it has played).
 * Bridge → carrier: binary L16, `{"action":"clear"}`, `{"action":"notify","payload":{...}}`.
 * Vonage queues at most 3072 messages (about a minute), so output is paced.
 *
 * Rates: 8000 and 16000 as Vonage's WebSocket guide lists them, and 24000, which Vonage's SDKs
 * offer for the endpoint since 2026 (`@vonage/voice` `WebsocketBitrate.RATE_24000`).
 */
import { ConfigError, type AudioFormat, type OutboundCommand } from '@switchboard/core';
import { L16_16K } from '../formats.js';
import {
  callFields,
  controlError,
  isJsonObject,
  parseJsonObject,
  readCallStart,
  readDtmf,
  stringParameters,
  type ControlCommand,
  type ControlEvent,
  type PresetCallState,
  type RawWebSocketPreset,
} from '../preset.js';

const NAME = 'vonage';
const VONAGE_RATES = [8000, 16000, 24000];
/** Header names with a meaning of their own: the rest become custom parameters. */
const START_FIELDS = ['event', 'content-type', 'uuid', 'from', 'to'];

function fail(message: string, frame: string): never {
  throw controlError(NAME, message, frame);
}

/** `audio/l16;rate=16000` → L16 16 kHz. */
function readContentType(value: unknown, call: PresetCallState, frame: string): AudioFormat {
  if (value === undefined) return call.format;
  if (typeof value !== 'string') fail('"content-type" must be a string', frame);
  const [type, ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'audio/l16')
    fail(`unsupported content-type ${JSON.stringify(value.slice(0, 40))} (Vonage streams audio/l16)`, frame);
  const rate = params.find((param) => param.startsWith('rate='))?.slice(5);
  const sampleRate = rate === undefined ? 8000 : Number(rate);
  if (!VONAGE_RATES.includes(sampleRate))
    fail(`unsupported rate in content-type ${JSON.stringify(value.slice(0, 40))} (8000, 16000 or 24000)`, frame);
  return { encoding: 'l16', sampleRate, channels: 1 };
}

export const vonagePreset: RawWebSocketPreset = {
  name: NAME,
  defaultFormat: L16_16K,
  startOn: 'message',
  capabilities: { playbackAck: 'mark', ackOnClear: 'confirm', clear: true, dtmfIn: true, dtmfOut: false },
  leadMs: 1000,

  decodeControl(text, call) {
    const message = parseJsonObject(NAME, text);
    // The first message's older form has no "event": just the content-type and the NCCO's
    // headers (https://developer.nexmo.com/voice/voice-api/guides/websockets).
    const legacyStart = message['event'] === undefined && !call.started && typeof message['content-type'] === 'string';
    const event = legacyStart ? 'websocket:connected' : message['event'];
    if (typeof event !== 'string') fail('control message without a string "event"', text);
    switch (event) {
      case 'websocket:connected':
        return [
          readCallStart(NAME, message, text, {
            callId: 'uuid',
            format: readContentType(message['content-type'], call, text),
            customParameters: stringParameters(message, START_FIELDS),
            // `uuid`, `from` and `to` are NCCO headers the application wrote: a number there
            // (`"from": 447700900000`) must not keep the call from starting.
            scalarsAsText: true,
          }),
        ];
      case 'websocket:dtmf':
        return [readDtmf(NAME, message, text, { digit: 'digit', duration: 'duration' })];
      case 'websocket:cleared':
        return [{ type: 'playback_cleared' }];
      case 'websocket:notify': {
        const payload = message['payload'];
        const name = isJsonObject(payload) ? payload['name'] : undefined;
        if (typeof name !== 'string') fail('websocket:notify without a string payload.name', text);
        return [{ type: 'playback_ack', name }];
      }
      default:
        fail(`unknown event ${JSON.stringify(event.slice(0, 40))}`, text);
    }
  },

  encodeControl(command: ControlCommand) {
    switch (command.type) {
      case 'clear':
        return ['{"action":"clear"}'];
      case 'mark':
        return [JSON.stringify({ action: 'notify', payload: { name: command.name } })];
      default:
        // Hang-up and DTMF go through Vonage's REST API (PUT /v1/calls/{uuid}), not the socket.
        return [];
    }
  },

  peer: {
    encodeEvent(event: ControlEvent, peer) {
      switch (event.type) {
        case 'call_start': {
          const { encoding, sampleRate } = peer.format;
          if (encoding !== 'l16' || !VONAGE_RATES.includes(sampleRate)) {
            throw new ConfigError(`Vonage streams L16 at 8000, 16000 or 24000 Hz, not ${encoding}@${sampleRate}.`);
          }
          const custom = stringParameters(event.customParameters, START_FIELDS);
          return [
            JSON.stringify({
              event: 'websocket:connected',
              'content-type': `audio/l16;rate=${sampleRate}`,
              ...callFields(event, 'uuid'),
              ...custom,
            }),
          ];
        }
        case 'dtmf':
          return [
            JSON.stringify({
              event: 'websocket:dtmf',
              digit: event.digit,
              ...(event.durationMs !== undefined ? { duration: event.durationMs } : {}),
            }),
          ];
        case 'playback_ack':
          return [JSON.stringify({ event: 'websocket:notify', payload: { name: event.name } })];
        case 'playback_cleared':
          return ['{"event":"websocket:cleared"}'];
        default:
          // Vonage ends a call by closing the socket and has no flow control messages.
          return [];
      }
    },

    decodeControl(text): OutboundCommand[] {
      const message = parseJsonObject(NAME, text);
      switch (message['action']) {
        case 'clear':
          return [{ type: 'clear' }];
        case 'notify': {
          const payload = message['payload'];
          if (!isJsonObject(payload)) fail('notify without a payload object', text);
          const name = payload['name'];
          if (typeof name !== 'string') fail('notify payload without a string name', text);
          return [{ type: 'mark', name }];
        }
        default:
          fail('unknown action (Vonage takes "clear" and "notify")', text);
      }
    },
  },
};
