import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// The jambonz preset against every trace of the bundled corpus, every check, in its own wire format
// (converted from the traces' μ-law by its peer). One file per preset, so presets replay side by side.
const adapter = conformance.find((one) => one.name === 'websocket/jambonz');
if (!adapter) throw new Error('no websocket/jambonz conformance adapter');
describeConformance(adapter);
