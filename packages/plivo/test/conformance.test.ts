import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check. Plivo never returns checkpoints on a clear; it
// confirms with clearedAudio (ackOnClear 'confirm').
describeConformance(conformance);
