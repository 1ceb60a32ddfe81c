import { protocolCandidateCases } from '@switchboard/conformance/testing';
import { describe, it } from 'vitest';
import { exotelCandidate } from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';

// Recognises its own start frame; leaves alone a Vonage frame whose NCCO headers carry a
// "stream_sid" header, other carriers' first frames, binary frames and junk.
describe('exotelCandidate', () => {
  it.each(protocolCandidateCases(exotelCandidate, { peer: new ExotelPeerSimulator(), streamIdField: 'stream_sid' }))(
    '%s',
    (_title, check) => check(),
  );
});
