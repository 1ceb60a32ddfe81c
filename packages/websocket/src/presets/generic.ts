/**
 * A small JSON control protocol for gateways built for this package (see the README's "The
 * generic protocol"). Binary frames carry audio in the format `start` names; text frames are
 * JSON objects with a `type`.
 *
 * Gateway → bridge: `start` (streamId, callId, from, to, format, metadata), `dtmf` (digit,
 * durationMs), `mark` (name: everything sent before the bridge's mark of that name has played),
 * `cleared` (after a clear; marks pending at the clear are never echoed), `stop` (reason).
 * Bridge → gateway: `mark` (name), `clear`, `hangup`, `dtmf` (digits).
 */
import type { AudioFormat, CallEvent, OutboundCommand } from '@switchboard/core';
import { L16_16K, formatName, isSupportedFormat } from '../formats.js';
import {
  callFields,
  controlError,
  isJsonObject,
  newStreamId,
  optionalString,
  parseJsonObject,
  readCallStart,
  readDtmf,
  stringParameters,
  type ControlCommand,
  type ControlEvent,
  type PresetCallState,
  type RawWebSocketPreset,
} from '../preset.js';

const NAME = 'generic';
const ENCODINGS: ReadonlyArray<AudioFormat['encoding']> = ['l16', 'pcmu', 'pcma'];
const DTMF_DIGITS = /^[0-9*#A-Da-d]+$/;

function fail(message: string, frame: string): never {
  throw controlError(NAME, message, frame);
}

function readFormat(value: unknown, call: PresetCallState, frame: string): AudioFormat {
  if (value === undefined) return call.format;
  if (!isJsonObject(value)) fail('"format" must be an object', frame);
  const encoding = value['encoding'];
  const sampleRate = value['sampleRate'];
  if (typeof encoding !== 'string' || !ENCODINGS.includes(encoding as AudioFormat['encoding'])) {
    fail('"format.encoding" must be "l16", "pcmu" or "pcma"', frame);
  }
  if (typeof sampleRate !== 'number') fail('"format.sampleRate" must be a number', frame);
  const format: AudioFormat = { encoding: encoding as AudioFormat['encoding'], sampleRate, channels: 1 };
  if (!isSupportedFormat(format))
    fail(`unsupported format ${formatName(format)} (l16 at 8/16/24/48 kHz, pcmu or pcma at 8 kHz)`, frame);
  return format;
}

function decodeStart(message: Record<string, unknown>, text: string, call: PresetCallState): CallEvent {
  const metadata = message['metadata'];
  if (metadata !== undefined && !isJsonObject(metadata)) fail('"metadata" must be an object', text);
  return readCallStart(NAME, message, text, {
    callId: 'callId',
    streamId: 'streamId',
    format: readFormat(message['format'], call, text),
    customParameters: stringParameters(metadata ?? {}),
  });
}

function readName(message: Record<string, unknown>, text: string): string {
  const name = message['name'];
  if (typeof name !== 'string' || name.length === 0) fail('mark without a string "name"', text);
  return name;
}

export const genericPreset: RawWebSocketPreset = {
  name: NAME,
  defaultFormat: L16_16K,
  startOn: 'message',
  capabilities: { playbackAck: 'mark', ackOnClear: 'confirm', clear: true, dtmfIn: true, dtmfOut: true },

  decodeControl(text, call) {
    const message = parseJsonObject(NAME, text);
    const type = message['type'];
    switch (type) {
      case 'start':
        return [decodeStart(message, text, call)];
      case 'dtmf':
        return [readDtmf(NAME, message, text, { digit: 'digit', duration: 'durationMs' })];
      case 'mark':
        return [{ type: 'playback_ack', name: readName(message, text) }];
      case 'cleared':
        return [{ type: 'playback_cleared' }];
      case 'stop': {
        const reason = optionalString(NAME, message, 'reason', text);
        return [reason === undefined ? { type: 'call_end' } : { type: 'call_end', reason }];
      }
      default:
        fail(
          typeof type === 'string'
            ? `unknown type ${JSON.stringify(type.slice(0, 40))}`
            : 'control message without a string "type"',
          text,
        );
    }
  },

  encodeControl(command: ControlCommand) {
    switch (command.type) {
      case 'mark':
        return [JSON.stringify({ type: 'mark', name: command.name })];
      case 'clear':
        return ['{"type":"clear"}'];
      case 'hangup':
        return ['{"type":"hangup"}'];
      case 'dtmf':
        return DTMF_DIGITS.test(command.digits) ? [JSON.stringify({ type: 'dtmf', digits: command.digits })] : [];
    }
  },

  peer: {
    encodeEvent(event: ControlEvent, peer) {
      switch (event.type) {
        case 'call_start': {
          return [
            JSON.stringify({
              type: 'start',
              streamId: event.streamId || newStreamId(NAME),
              ...callFields(event, 'callId'),
              format: { encoding: peer.format.encoding, sampleRate: peer.format.sampleRate },
              metadata: { ...event.customParameters },
            }),
          ];
        }
        case 'dtmf':
          return [
            JSON.stringify({
              type: 'dtmf',
              digit: event.digit,
              ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}),
            }),
          ];
        case 'playback_ack':
          return [JSON.stringify({ type: 'mark', name: event.name })];
        case 'playback_cleared':
          return ['{"type":"cleared"}'];
        case 'call_end':
          return [JSON.stringify({ type: 'stop', ...(event.reason !== undefined ? { reason: event.reason } : {}) })];
        case 'flow_control':
          return [];
      }
    },

    decodeControl(text): OutboundCommand[] {
      const message = parseJsonObject(NAME, text);
      switch (message['type']) {
        case 'mark':
          return [{ type: 'mark', name: readName(message, text) }];
        case 'clear':
          return [{ type: 'clear' }];
        case 'hangup':
          return [{ type: 'hangup' }];
        case 'dtmf': {
          const digits = message['digits'];
          if (typeof digits !== 'string' || !DTMF_DIGITS.test(digits)) fail('dtmf without valid "digits"', text);
          return [{ type: 'dtmf', digits }];
        }
        default:
          fail('unknown type (the bridge sends mark, clear, hangup and dtmf)', text);
      }
    },
  },
};
