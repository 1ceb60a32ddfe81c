import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check, in slin 8 kHz; the peer rejects any media chunk
// outside Exotel's size rules, so carrier.frames proves the framing.
describeConformance(conformance);
