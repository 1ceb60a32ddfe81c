import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check that applies, in 16-bit PCM at 16 kHz; the peer
// rejects audio that is not whole 20 ms frames, so carrier.frames proves the framing.
describeConformance(conformance);
