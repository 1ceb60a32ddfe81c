/**
 * The Exotel candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Exotel frames carry `stream_sid` at the
 * top level, which no other carrier's do. Its first frame, `connected`, carries nothing that
 * tells it apart: detect with `maxFrames: 2` so the `start` that follows decides.
 *
 * Only Exotel's own event names count: Vonage's first frame carries the NCCO's headers at its top
 * level, so a header named `stream_sid` must not make a Vonage call look like Exotel's.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { parseJsonObjectFrame } from '@switchboard/core/protocol';
import { ExotelMediaStreamProtocol } from './protocol.js';

/** The events Exotel sends on a Voicebot stream. */
const EVENTS = new Set(['connected', 'start', 'media', 'dtmf', 'mark', 'stop']);

export const exotelCandidate: ProtocolCandidate = {
  name: 'exotel',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined) return false;
    const event = value['event'];
    return typeof event === 'string' && EVENTS.has(event) && typeof value['stream_sid'] === 'string';
  },
  create: () => new ExotelMediaStreamProtocol(),
};
