import { protocolCandidateCases } from '@switchboard/conformance/testing';
import { describe, it } from 'vitest';
import { telnyxCandidate } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

// Recognises its own start frame; leaves alone a Vonage frame whose NCCO headers carry a
// "stream_id" header, other carriers' first frames, binary frames and junk.
describe('telnyxCandidate', () => {
  it.each(protocolCandidateCases(telnyxCandidate, { peer: new TelnyxPeerSimulator(), streamIdField: 'stream_id' }))(
    '%s',
    (_title, check) => check(),
  );
});
