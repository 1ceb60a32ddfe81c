import { conformance } from '@switchboard/twilio';
import { describeConformance } from '@switchboard/conformance/vitest';

// The Twilio adapter against every trace of the bundled corpus, every check.
describeConformance(conformance);
