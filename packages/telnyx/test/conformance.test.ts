import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check, with a peer that swaps every 16th media frame
// with the next one: the core puts them back in order by media.chunk.
describeConformance(conformance);
