/**
 * The Plivo candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Plivo's first frame is `start`, with
 * a camelCase `streamId` (inside `start`, or at the top level of later frames) where Twilio has
 * `streamSid`, Telnyx `stream_id` and Exotel `stream_sid`.
 */
import { isJsonObject, parseJsonObjectFrame, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import { PlivoMediaStreamProtocol } from './protocol.js';

export const plivoCandidate: ProtocolCandidate = {
  name: 'plivo',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined || typeof value['event'] !== 'string') return false;
    const start = value['start'];
    const streamId = (isJsonObject(start) ? start['streamId'] : undefined) ?? value['streamId'];
    return typeof streamId === 'string' && value['streamSid'] === undefined;
  },
  create: () => new PlivoMediaStreamProtocol(),
};
