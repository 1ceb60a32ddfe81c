import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { BandwidthPeerSimulator } from './peer.js';
import { BANDWIDTH_FORMAT, BandwidthMediaStreamProtocol } from './protocol.js';
import { BandwidthRealtimeTransport } from './transport.js';

/**
 * The Bandwidth adapter as the conformance harness loads it (`--adapter @switchboard/bandwidth`):
 * μ-law 8 kHz like the traces, no playback acknowledgements (the playout clock and output pacing
 * are what the checks measure), and a peer streaming both tracks, so every call also carries the
 * `outbound` track, which the bridge must leave out of what the model hears. The peer refuses a
 * `playAudio` that is not whole 20 ms packets, so `carrier.frames` proves the framing.
 */
export const conformance: ConformanceAdapter = {
  name: 'bandwidth',
  traceCarrier: 'bandwidth',
  createProtocol: () => new BandwidthMediaStreamProtocol(),
  capabilities: new BandwidthMediaStreamProtocol().capabilities,
  carrierFormat: { ...BANDWIDTH_FORMAT },
  // Media frames carry neither a timestamp nor an order the bridge reads: one WebSocket delivers
  // them in order, silence included.
  mediaTimestamps: false,
  mediaSequence: false,
  createTransport: ({ connection, url, now, clock }) =>
    new BandwidthRealtimeTransport({ bandwidthWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new BandwidthPeerSimulator({ tracks: 'both' }),
};
