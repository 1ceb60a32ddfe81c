import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// The Vonage adapter (L16 16 kHz binary frames, notify acks, paced output) against every trace of
// the bundled corpus, every check; its peer converts the traces' μ-law into L16 16 kHz.
describeConformance(conformance);
