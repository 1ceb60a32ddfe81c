import { conformance } from '../src/testing.js';
import { describeConformance } from '@switchboard/conformance/vitest';

// The self-hosted SIP/RTP endpoint's media path against every trace of the bundled corpus,
// every check.
describeConformance(conformance);
