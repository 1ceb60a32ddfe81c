/**
 * The Wavix candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Every Wavix frame carries
 * `event_time` (an ISO 8601 string) at the top level, which no other carrier's do; its `start`
 * names `stream_id` and `call_id` at the top level too, with no `start` object. Its first frame,
 * `connected`, carries only `event_time`, which no other carrier's first frame does: detection
 * decides on it.
 *
 * Telnyx frames also carry a top-level `stream_id`, and `telnyxCandidate` looks at nothing else:
 * it would claim a Wavix stream whose `connected` was lost and that opened with `start`. List
 * `wavixCandidate` before `telnyxCandidate`.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { parseJsonObjectFrame } from '@switchboard/core/protocol';
import { WavixMediaStreamProtocol } from './protocol.js';

/** The events Wavix sends on a call stream. */
const EVENTS = new Set(['connected', 'start', 'media', 'mark', 'stop']);
/** An ISO 8601 date and time, as `event_time` holds it. */
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

export const wavixCandidate: ProtocolCandidate = {
  name: 'wavix',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined) return false;
    const event = value['event'];
    const time = value['event_time'];
    if (typeof event !== 'string' || !EVENTS.has(event) || typeof time !== 'string' || !EVENT_TIME.test(time))
      return false;
    if (event === 'connected') return true;
    return typeof value['stream_id'] === 'string' && value['start'] === undefined;
  },
  create: () => new WavixMediaStreamProtocol(),
};
