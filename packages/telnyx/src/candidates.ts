/**
 * The Telnyx candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Telnyx frames carry `stream_id` at the
 * top level, which no other carrier's do. Its first frame, `connected`, carries nothing that
 * tells it apart: detect with `maxFrames: 2` so the `start` that follows decides.
 *
 * Only Telnyx's own event names count: Vonage's first frame carries the NCCO's headers at its top
 * level, so a header named `stream_id` must not make a Vonage call look like Telnyx's. Wavix's
 * frames also carry `stream_id` at the top level, with Telnyx's event names, but every one of them
 * has an `event_time`, which Telnyx's never do.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { parseJsonObjectFrame } from '@switchboard/core/protocol';
import { TelnyxMediaStreamProtocol } from './protocol.js';

/** The events Telnyx sends on a media stream. */
const EVENTS = new Set(['connected', 'start', 'media', 'mark', 'dtmf', 'stop', 'error']);

export const telnyxCandidate: ProtocolCandidate = {
  name: 'telnyx',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined) return false;
    const event = value['event'];
    return (
      typeof event === 'string' &&
      EVENTS.has(event) &&
      typeof value['stream_id'] === 'string' &&
      value['event_time'] === undefined
    );
  },
  create: () => new TelnyxMediaStreamProtocol(),
};
