import { protocolCandidateCases } from '@switchboard/conformance/testing';
import { describe, it } from 'vitest';
import { plivoCandidate } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';

// Recognises its own start frame; leaves alone a Vonage frame whose NCCO headers carry a
// "streamId" header, other carriers' first frames, binary frames and junk.
describe('plivoCandidate', () => {
  it.each(protocolCandidateCases(plivoCandidate, { peer: new PlivoPeerSimulator(), streamIdField: 'streamId' }))(
    '%s',
    (_title, check) => check(),
  );
});
