/**
 * jambonz `listen` verb with bidirectional streaming audio, and FreeSWITCH mod_audio_fork.
 *
 * Carrier → bridge: one text frame of JSON call metadata first (jambonz: `callSid`, `from`, `to`,
 * `direction`, …, `sampleRate`, `mixType`, plus the verb's `metadata`), then binary L16 frames;
 * with `passDtmf`, `{"event":"dtmf","dtmf":"5","duration":"1600"}` (duration in 8 kHz samples,
 * as FreeSWITCH reports it); `{"type":"playDone",…}` after a non-streaming `playAudio`.
 * Bridge → carrier: binary L16 at `bidirectionalAudio.sampleRate` (set it to `sampleRate`),
 * `{"type":"killAudio"}` to stop playback, `{"type":"disconnect"}` to end the listen.
 * No playback acknowledgements: the core's playout clock stands in, and output is paced.
 */
import { ConfigError, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { L16_8K, L16_RATES } from '../formats.js';
import {
  callFields,
  controlError,
  optionalNumber,
  parseJsonObject,
  readCallStart,
  readDtmf,
  shortText,
  stringParameters,
  type ControlCommand,
  type ControlEvent,
  type PresetCallState,
  type RawWebSocketPreset,
} from '../preset.js';

const NAME = 'jambonz';
/** Metadata fields with a meaning of their own: the rest become custom parameters. */
const START_FIELDS = ['callSid', 'from', 'to', 'sampleRate', 'mixType'];
/**
 * Messages that need no action here: `playDone` follows a non-streaming playAudio, `mark` a mark this bridge never
 * sends.
 */
const IGNORED_TYPES = new Set(['playDone', 'mark']);
/** FreeSWITCH reports DTMF durations in samples at 8 kHz. */
const DTMF_SAMPLES_PER_MS = 8;

function fail(message: string, frame: string): never {
  throw controlError(NAME, message, frame);
}

function readSampleRate(message: Record<string, unknown>, call: PresetCallState, text: string): AudioFormat {
  const rate = optionalNumber(NAME, message, 'sampleRate', text);
  if (rate === undefined) return call.format.encoding === 'l16' ? call.format : L16_8K;
  if (!L16_RATES.includes(rate)) fail(`unsupported sampleRate ${rate} (${L16_RATES.join(', ')})`, text);
  return { encoding: 'l16', sampleRate: rate, channels: 1 };
}

/** The metadata frame: any JSON object that is neither an `event` nor a `type` message. */
function decodeMetadata(message: Record<string, unknown>, text: string, call: PresetCallState): CallEvent {
  const mixType = message['mixType'];
  if (mixType !== undefined && mixType !== 'mono') {
    fail(`mixType ${shortText(mixType, 20)} is not supported: set "mixType": "mono" on the listen verb`, text);
  }
  return readCallStart(NAME, message, text, {
    callId: 'callSid',
    format: readSampleRate(message, call, text),
    customParameters: stringParameters(message, START_FIELDS),
  });
}

export const jambonzPreset: RawWebSocketPreset = {
  name: NAME,
  defaultFormat: L16_8K,
  startOn: 'message',
  capabilities: { playbackAck: 'none', ackOnClear: 'none', clear: true, dtmfIn: true, dtmfOut: false },
  leadMs: 1000,

  decodeControl(text, call) {
    const message = parseJsonObject(NAME, text);
    const event = message['event'];
    const type = message['type'];
    if (event === undefined && type === undefined) return [decodeMetadata(message, text, call)];
    if (event === 'dtmf')
      return [readDtmf(NAME, message, text, { digit: 'dtmf', duration: 'duration', unitsPerMs: DTMF_SAMPLES_PER_MS })];
    if (typeof type === 'string' && IGNORED_TYPES.has(type)) return [];
    // Any JSON value may stand there: String() of an array nested thousands deep overflows the stack.
    const what = event !== undefined ? `event ${shortText(event)}` : `type ${shortText(type)}`;
    fail(`unknown ${what}`, text);
  },

  encodeControl(command: ControlCommand) {
    switch (command.type) {
      case 'clear':
        return ['{"type":"killAudio"}'];
      case 'hangup':
        // Ends the listen verb; the jambonz application goes on with its next verb.
        return ['{"type":"disconnect"}'];
      default:
        return [];
    }
  },

  peer: {
    encodeEvent(event: ControlEvent, peer) {
      switch (event.type) {
        case 'call_start': {
          if (peer.format.encoding !== 'l16') {
            throw new ConfigError(`jambonz streams L16, not ${peer.format.encoding}.`);
          }
          const custom = stringParameters(event.customParameters, START_FIELDS);
          return [
            JSON.stringify({
              ...callFields(event, 'callSid'),
              ...custom,
              sampleRate: peer.format.sampleRate,
              mixType: 'mono',
            }),
          ];
        }
        case 'dtmf':
          return [
            JSON.stringify({
              event: 'dtmf',
              dtmf: event.digit,
              duration: String(Math.round((event.durationMs ?? 100) * DTMF_SAMPLES_PER_MS)),
            }),
          ];
        default:
          // No acks or flow control; a hang-up closes the socket.
          return [];
      }
    },

    decodeControl(text): OutboundCommand[] {
      const message = parseJsonObject(NAME, text);
      switch (message['type']) {
        case 'killAudio':
          return [{ type: 'clear' }];
        case 'disconnect':
          return [{ type: 'hangup' }];
        default:
          fail('unknown message (a streaming listen takes "killAudio" and "disconnect")', text);
      }
    },
  },
};
