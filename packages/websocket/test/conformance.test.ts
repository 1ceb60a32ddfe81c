import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/index.js';

// Every preset (Vonage, Asterisk, jambonz, generic) against every trace of the bundled corpus,
// every check; each preset in its own wire format, converted from the traces' μ-law by its peer.
describeConformance(conformance);
