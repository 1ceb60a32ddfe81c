import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { TelnyxPeerSimulator } from './peer.js';
import { TelnyxMediaStreamProtocol } from './protocol.js';
import { TelnyxRealtimeTransport } from './transport.js';

/**
 * The Telnyx adapter as the conformance harness loads it (`--adapter @switchboard/telnyx`): PCMU
 * 8 kHz like the traces, and a peer that delivers every 16th media frame after the next one, so
 * the core's reordering by `media.chunk` is exercised on every call.
 */
export const conformance: ConformanceAdapter = {
  name: 'telnyx',
  // A trace recorded from Telnyx (header `carrier: "telnyx"`) replays through this adapter frame for frame.
  traceCarrier: 'telnyx',
  createProtocol: () => new TelnyxMediaStreamProtocol(),
  capabilities: new TelnyxMediaStreamProtocol().capabilities,
  carrierFormat: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  // Frames are ordered by media.chunk; media.timestamp is not read (its unit is not documented),
  // so where a trace loses frames the carrier streams silence in real time instead.
  mediaTimestamps: false,
  createTransport: ({ connection, url, now, clock }) =>
    new TelnyxRealtimeTransport({ telnyxWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new TelnyxPeerSimulator({ swapEvery: 16 }),
};
