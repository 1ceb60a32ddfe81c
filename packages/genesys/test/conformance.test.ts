import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// Every trace of the bundled corpus, every check, in PCMU 8 kHz; the peer refuses any server
// message out of sequence and any audio before `opened`, so the session handshake is proven too.
describeConformance(conformance);
