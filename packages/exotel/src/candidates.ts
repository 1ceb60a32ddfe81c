/**
 * The Exotel candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Exotel frames carry `stream_sid` at the
 * top level, which no other carrier's do. Its first frame, `connected`, carries nothing that
 * tells it apart: detect with `maxFrames: 2` so the `start` that follows decides.
 */
import { parseJsonObjectFrame, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import { ExotelMediaStreamProtocol } from './protocol.js';

export const exotelCandidate: ProtocolCandidate = {
  name: 'exotel',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    return value !== undefined && typeof value['event'] === 'string' && typeof value['stream_sid'] === 'string';
  },
  create: () => new ExotelMediaStreamProtocol(),
};
