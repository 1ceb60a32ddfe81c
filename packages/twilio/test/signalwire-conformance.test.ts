import { describeConformance } from '@switchboard/conformance/vitest';
import { signalwireConformance } from '../src/testing.js';

// The SignalWire dialect against every trace of the bundled corpus, every check: an L16 16 kHz
// stream (codec="L16@16000h"), its peer converting the traces' μ-law into that format.
describeConformance(signalwireConformance);
