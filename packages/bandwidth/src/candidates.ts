/**
 * The Bandwidth candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route
 * that serves several carriers, told apart by their first frames. Bandwidth's frames are keyed by
 * `eventType` where Twilio, Telnyx, Plivo and Exotel write `event`, and its first frame, `start`,
 * holds a `metadata` object naming the stream (`metadata.streamId`).
 *
 * Only a `start` with that shape counts: a Vonage first frame carries the NCCO's headers at its top
 * level, so a header named `eventType` alone must not make a Vonage call look like Bandwidth's.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { isJsonObject, parseJsonObjectFrame } from '@switchboard/core/protocol';
import { BandwidthMediaStreamProtocol } from './protocol.js';

export const bandwidthCandidate: ProtocolCandidate = {
  name: 'bandwidth',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined || value['eventType'] !== 'start' || value['event'] !== undefined) return false;
    const metadata = value['metadata'];
    return isJsonObject(metadata) && typeof metadata['streamId'] === 'string';
  },
  create: () => new BandwidthMediaStreamProtocol(),
};
