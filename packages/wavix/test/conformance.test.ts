import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check, in PCM16 24 kHz; the peer refuses any media
// message that is not exactly one 20 ms frame, so carrier.frames proves the framing.
describeConformance(conformance);
