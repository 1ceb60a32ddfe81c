/**
 * The Plivo candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Plivo's first frame is `start`, with
 * a camelCase `streamId` (inside `start`, or at the top level of later frames) where Twilio has
 * `streamSid`, Telnyx `stream_id` and Exotel `stream_sid`.
 *
 * Only Plivo's own event names count: Vonage's first frame carries the NCCO's headers at its top
 * level, so a header named `streamId` must not make a Vonage call look like Plivo's.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { isJsonObject, parseJsonObjectFrame } from '@switchboard/core/protocol';
import { PlivoMediaStreamProtocol } from './protocol.js';

/** The events Plivo sends on an audio stream. */
const EVENTS = new Set(['start', 'media', 'dtmf', 'playedStream', 'played', 'clearedAudio', 'stop']);

export const plivoCandidate: ProtocolCandidate = {
  name: 'plivo',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    const event = value?.['event'];
    if (value === undefined || typeof event !== 'string' || !EVENTS.has(event)) return false;
    const start = value['start'];
    const streamId = (isJsonObject(start) ? start['streamId'] : undefined) ?? value['streamId'];
    return typeof streamId === 'string' && value['streamSid'] === undefined;
  },
  create: () => new PlivoMediaStreamProtocol(),
};
