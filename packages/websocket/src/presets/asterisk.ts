/**
 * Asterisk chan_websocket (Asterisk 20.16 / 21.11 / 22.6 / 23.0 and later):
 * `Dial(WebSocket/<connection>/c(ulaw))` or ARI external media.
 *
 * Binary frames carry raw media in the dialed codec; text frames carry control messages, either
 * plain text (`MEDIA_START connection_id:… channel:… format:ulaw optimal_frame_size:160 ptime:20`)
 * or, with the `f(json)` option, JSON
 * (`{"event":"MEDIA_START","connection_id":…,"channel_id":…,"format":"ulaw",…,"channel_variables":{…}}`).
 * Commands are answered in the form MEDIA_START used.
 * `call_start`: streamId = connection_id, callId = channel_id (JSON) or the channel name,
 * customParameters = channel_variables (JSON only); the whole message is in `raw`.
 * Asterisk re-times what it receives, never acknowledges playback (the core's playout clock
 * stands in), signals a full queue with `MEDIA_XOFF`/`MEDIA_XON`, and closes the socket (hanging
 * up) on a message larger than 65500 bytes.
 */
import { ConfigError, type AudioFormat, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { MULAW_8K, frameBytes } from '../formats.js';
import {
  callStart,
  controlError,
  isJsonObject,
  newStreamId,
  optionalString,
  parseJsonObject,
  readDtmf,
  stringParameters,
  type ControlCommand,
  type ControlEvent,
  type PresetCallState,
  type RawWebSocketPreset,
} from '../preset.js';

const NAME = 'asterisk';
/** Largest WebSocket message chan_websocket accepts; a larger one hangs the call up. */
export const ASTERISK_MAX_MESSAGE_BYTES = 65500;

/** The Asterisk format names this package carries. */
const FORMATS: Record<string, AudioFormat> = {
  ulaw: MULAW_8K,
  alaw: { encoding: 'pcma', sampleRate: 8000, channels: 1 },
  slin: { encoding: 'l16', sampleRate: 8000, channels: 1 },
  slin16: { encoding: 'l16', sampleRate: 16000, channels: 1 },
  slin24: { encoding: 'l16', sampleRate: 24000, channels: 1 },
  slin48: { encoding: 'l16', sampleRate: 48000, channels: 1 },
};

/** Notifications that need no action here. */
const IGNORED = new Set(['STATUS', 'QUEUE_DRAINED', 'MEDIA_BUFFERING_COMPLETED', 'MEDIA_MARK_PROCESSED']);
/** Commands a carrier accepts that have no OutboundCommand of their own. */
const OTHER_COMMANDS = new Set([
  'ANSWER',
  'START_MEDIA_BUFFERING',
  'STOP_MEDIA_BUFFERING',
  'PAUSE_MEDIA',
  'CONTINUE_MEDIA',
  'GET_STATUS',
  'REPORT_QUEUE_DRAINED',
]);

/** One control message in either form: its name and its fields (text-form values are strings). */
type Control = { name: string; fields: Record<string, unknown>; json: boolean };

function fail(message: string, frame: string): never {
  throw controlError(NAME, message, frame);
}

/**
 * Reads a control message. JSON when it starts with `{` (`key` names the field holding the
 * message name: `event` from Asterisk, `command` to it); plain text otherwise: a name, then
 * `key:value` pairs (the value may itself contain `:`) and bare arguments.
 */
function readControl(text: string, key: 'event' | 'command'): Control {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const fields = parseJsonObject(NAME, trimmed);
    const name = fields[key];
    if (typeof name !== 'string') fail(`JSON control message without a string "${key}"`, text);
    return { name, fields, json: true };
  }
  const [name = '', ...tokens] = trimmed.split(/\s+/);
  if (!/^[A-Z][A-Z_]*$/.test(name)) fail('not a chan_websocket control message', text);
  const fields: Record<string, unknown> = {};
  const args: string[] = [];
  for (const token of tokens) {
    const colon = token.indexOf(':');
    if (colon > 0) fields[token.slice(0, colon)] = token.slice(colon + 1);
    else args.push(token);
  }
  if (args.length > 0) fields['args'] = args;
  return { name, fields, json: false };
}

function readFormat(value: unknown, call: PresetCallState, frame: string): AudioFormat {
  if (value === undefined || value === '') return call.format;
  if (typeof value !== 'string') fail('"format" must be a string', frame);
  const format = Object.hasOwn(FORMATS, value) ? FORMATS[value] : undefined;
  if (!format) {
    fail(
      `unsupported format ${JSON.stringify(value.slice(0, 20))}: dial with c(ulaw), c(alaw), c(slin), c(slin16), c(slin24) or c(slin48)`,
      frame,
    );
  }
  return { ...format };
}

function decodeMediaStart(control: Control, text: string, call: PresetCallState): CallEvent {
  const { fields } = control;
  const variables = fields['channel_variables'];
  if (variables !== undefined && !isJsonObject(variables)) fail('"channel_variables" must be an object', text);
  const channel = optionalString(NAME, fields, 'channel', text);
  const channelId = optionalString(NAME, fields, 'channel_id', text);
  const connectionId = optionalString(NAME, fields, 'connection_id', text);
  const event = callStart({
    streamId: connectionId ?? newStreamId(NAME),
    callId: channelId ?? channel,
    format: readFormat(fields['format'], call, text),
    customParameters: stringParameters(variables ?? {}),
    raw: control.json ? fields : { event: control.name, ...fields },
  });
  call.json = control.json;
  return event;
}

/** The Asterisk name of a format, for the peer's MEDIA_START. */
function formatNameOf(format: AudioFormat): string {
  for (const [name, candidate] of Object.entries(FORMATS)) {
    if (candidate.encoding === format.encoding && candidate.sampleRate === format.sampleRate) return name;
  }
  throw new ConfigError(`chan_websocket has no format for ${format.encoding}@${format.sampleRate}.`);
}

/** One message in the form in use: `NAME key:value …` or `{"<key>":"NAME",…}`. */
function write(
  json: boolean,
  key: 'event' | 'command',
  name: string,
  fields: Record<string, string | number | object> = {},
): string {
  if (json) return JSON.stringify({ [key]: name, ...fields });
  const pairs = Object.entries(fields).map(([k, v]) => ` ${k}:${String(v).replace(/\s+/g, '_')}`);
  return name + pairs.join('');
}

export const asteriskPreset: RawWebSocketPreset = {
  name: NAME,
  defaultFormat: MULAW_8K,
  startOn: 'message',
  capabilities: { playbackAck: 'none', ackOnClear: 'none', clear: true, dtmfIn: true, dtmfOut: false },
  leadMs: 1000,
  maxMessageBytes: ASTERISK_MAX_MESSAGE_BYTES,

  decodeControl(text, call) {
    const control = readControl(text, 'event');
    switch (control.name) {
      case 'MEDIA_START':
        return [decodeMediaStart(control, text, call)];
      case 'DTMF_END':
        return [readDtmf(NAME, control.fields, text, { digit: 'digit', duration: 'duration' })];
      case 'MEDIA_XOFF':
        return [{ type: 'flow_control', paused: true }];
      case 'MEDIA_XON':
        return [{ type: 'flow_control', paused: false }];
      default:
        if (IGNORED.has(control.name)) return [];
        fail(`unknown control message ${JSON.stringify(control.name.slice(0, 40))}`, text);
    }
  },

  encodeControl(command: ControlCommand, call) {
    switch (command.type) {
      case 'clear':
        return [write(call.json, 'command', 'FLUSH_MEDIA')];
      case 'hangup':
        return [write(call.json, 'command', 'HANGUP')];
      default:
        // No playback marks and no DTMF on chan_websocket.
        return [];
    }
  },

  peer: {
    encodeEvent(event: ControlEvent, peer) {
      switch (event.type) {
        case 'call_start': {
          const connectionId = event.streamId || newStreamId(NAME);
          const format = formatNameOf(peer.format);
          const frameSize = frameBytes(peer.format, 20);
          if (!peer.json) {
            // The text form has no channel id or variables: the channel name stands for the call.
            const channel = event.callId ?? `WebSocket/${connectionId}`;
            return [
              write(false, 'event', 'MEDIA_START', {
                connection_id: connectionId,
                channel,
                format,
                optimal_frame_size: frameSize,
                ptime: 20,
              }),
            ];
          }
          return [
            write(true, 'event', 'MEDIA_START', {
              connection_id: connectionId,
              channel: `WebSocket/${connectionId}`,
              ...(event.callId !== undefined ? { channel_id: event.callId } : {}),
              format,
              optimal_frame_size: frameSize,
              ptime: 20,
              channel_variables: { ...event.customParameters },
            }),
          ];
        }
        case 'dtmf':
          return [write(peer.json, 'event', 'DTMF_END', { digit: event.digit })];
        case 'flow_control':
          return [write(peer.json, 'event', event.paused ? 'MEDIA_XOFF' : 'MEDIA_XON')];
        default:
          // No acks, no clear confirmation; a hang-up closes the socket.
          return [];
      }
    },

    decodeControl(text, peer): OutboundCommand[] {
      const control = readControl(text, 'command');
      if (control.json !== peer.json) {
        fail(
          `a ${control.json ? 'JSON' : 'plain-text'} command on a ${peer.json ? 'JSON' : 'plain-text'} channel`,
          text,
        );
      }
      if (control.name === 'FLUSH_MEDIA') return [{ type: 'clear' }];
      if (control.name === 'HANGUP') return [{ type: 'hangup' }];
      if (OTHER_COMMANDS.has(control.name)) return [];
      fail(`unknown command ${JSON.stringify(control.name.slice(0, 40))}`, text);
    },
  },
};
