/**
 * Candidates for `detectMediaProtocol` (from `@switchboard/core`): one media route that serves
 * Twilio, SignalWire and other carriers, told apart by their first frame.
 *
 * Twilio and SignalWire both open with `{"event":"connected","protocol":"Call",…}`, so the first
 * frame rarely tells them apart. {@link twilioCandidate} recognises both and its protocol decodes
 * both (μ-law and SignalWire's L16 alike). {@link signalwireCandidate} recognises only what is
 * positively SignalWire's — a `connected` frame with a pre-1.0 `version` (SignalWire documents
 * `0.2.0`, Twilio `1.0.0`), a `start` with UUID ids or an L16 `mediaFormat`, or the `rawEvent`
 * envelope of SignalWire's documentation — and exists only to name the protocol `signalwire`
 * (raw frames as `signalwire_message`). List it before the Twilio candidate; a SignalWire call it
 * misses is still served by the Twilio candidate, with raw frames named `twilio_message`.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { isJsonObject, parseJsonObjectFrame } from '@switchboard/core/protocol';
import { TwilioMediaStreamProtocol } from './protocol.js';

const EVENTS = new Set(['connected', 'start', 'media', 'dtmf', 'mark', 'stop']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Message = Record<string, unknown>;

/** The frame as a Media Streams message (SignalWire's `rawEvent` envelope opened), or undefined. */
function readMessage(frame: MediaFrame): { message: Message; enveloped: boolean } | undefined {
  const value = parseJsonObjectFrame(frame);
  if (value === undefined) return undefined;
  if (value['event'] === undefined && isJsonObject(value['rawEvent']))
    return { message: value['rawEvent'], enveloped: true };
  return { message: value, enveloped: false };
}

function streamSidOf(message: Message): unknown {
  const start = message['start'];
  return (isJsonObject(start) ? start['streamSid'] : undefined) ?? message['streamSid'];
}

/** A Twilio-envelope frame: Twilio's event names with Twilio's key case (`streamSid`). */
function isMediaStreamsMessage(message: Message): boolean {
  const event = message['event'];
  if (typeof event !== 'string' || !EVENTS.has(event)) return false;
  // Telnyx (`stream_id`) and Exotel (`stream_sid`) share the event names, not these keys.
  if (event === 'connected') return message['protocol'] === 'Call';
  return typeof streamSidOf(message) === 'string';
}

/**
 * Twilio Media Streams (and SignalWire's dialect of it): `connected` with `protocol: "Call"`, or `start`/`media`/… with
 * `streamSid`.
 */
export const twilioCandidate: ProtocolCandidate = {
  name: 'twilio',
  matches(frame) {
    const read = readMessage(frame);
    return read !== undefined && isMediaStreamsMessage(read.message);
  },
  create: () => new TwilioMediaStreamProtocol(),
};

/** SignalWire's cXML `<Stream>`, where its first frame says so; see the module note. */
export const signalwireCandidate: ProtocolCandidate = {
  name: 'signalwire',
  matches(frame) {
    const read = readMessage(frame);
    if (read === undefined || !isMediaStreamsMessage(read.message)) return false;
    if (read.enveloped) return true;
    const { message } = read;
    if (message['event'] === 'connected')
      return typeof message['version'] === 'string' && /^0\./.test(message['version']);
    if (message['event'] === 'start') {
      const start = isJsonObject(message['start']) ? message['start'] : {};
      const format = isJsonObject(start['mediaFormat']) ? start['mediaFormat'] : {};
      const encoding = typeof format['encoding'] === 'string' ? format['encoding'].toLowerCase() : '';
      const sid = streamSidOf(message);
      return encoding.includes('l16') || (typeof sid === 'string' && UUID.test(sid));
    }
    return false;
  },
  create: () => new TwilioMediaStreamProtocol({ dialect: 'signalwire' }),
};
