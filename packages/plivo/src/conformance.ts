import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { PlivoPeerSimulator } from './peer.js';
import { PlivoMediaStreamProtocol } from './protocol.js';
import { PlivoRealtimeTransport } from './transport.js';

/**
 * The Plivo adapter as the conformance harness loads it (`--adapter @switchboard/plivo`):
 * `audio/x-mulaw;rate=8000` like the traces. The carrier confirms a clear with `clearedAudio` and
 * never returns the checkpoints it dropped (`ackOnClear: 'confirm'`).
 */
export const conformance: ConformanceAdapter = {
  name: 'plivo',
  traceCarrier: 'plivo',
  createProtocol: () => new PlivoMediaStreamProtocol(),
  capabilities: new PlivoMediaStreamProtocol().capabilities,
  carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  // media.timestamp is wall-clock time, not read for gaps: Plivo streams continuously, silence included.
  mediaTimestamps: false,
  createTransport: ({ connection, url, now, clock }) =>
    new PlivoRealtimeTransport({ plivoWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new PlivoPeerSimulator(),
};
