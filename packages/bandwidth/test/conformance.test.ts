import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check that applies to a carrier without playback
// acknowledgements, in μ-law 8 kHz with both tracks streamed; the peer refuses any playAudio that
// is not whole 20 ms packets, so carrier.frames proves the framing.
describeConformance(conformance);
