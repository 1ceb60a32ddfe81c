import { conformance } from '@switchboard/twilio/testing';
import { describeConformance } from '@switchboard/conformance/vitest';

// The Twilio adapter against every trace of the bundled corpus, every check.
describeConformance(conformance);
