import { describeConformance } from '@switchboard/conformance/vitest';
import { conformance } from '../src/testing.js';

// The vonage preset in its own wire format (L16 16 kHz, converted from the traces' μ-law by its
// peer). `@switchboard/vonage` replays every trace of the corpus through this same preset and peer
// (its transport is this one with call control): here two traces (acknowledgements and a clear,
// DTMF) show the preset works from this package alone.
const adapter = conformance.find((one) => one.name === 'websocket/vonage');
if (!adapter) throw new Error('no websocket/vonage conformance adapter');
describeConformance(adapter, { only: ['marks-after-clear', 'dtmf'] });
