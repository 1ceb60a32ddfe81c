import type { AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { ExotelPeerSimulator } from './peer.js';
import { ExotelMediaStreamProtocol } from './protocol.js';
import { ExotelRealtimeTransport } from './transport.js';

const SLIN_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
const TRACE_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/**
 * The Exotel adapter as the conformance harness loads it (`--adapter @switchboard/exotel`): slin
 * (L16) 8 kHz on the wire, the traces' μ-law converted by the peer. The peer rejects every media
 * chunk outside Exotel's size rules, so the `carrier.frames` check proves the framing. Its `start`
 * is shaped as live Voicebot streams send it (`encoding: "base64"`, `bit_rate: "128kbps"`).
 */
export const conformance: ConformanceAdapter = {
  name: 'exotel',
  traceCarrier: 'exotel',
  createProtocol: () => new ExotelMediaStreamProtocol(),
  capabilities: new ExotelMediaStreamProtocol().capabilities,
  carrierFormat: SLIN_8K,
  // media.timestamp is not read: Exotel streams continuously, silence included.
  mediaTimestamps: false,
  createTransport: ({ connection, url, now, clock }) =>
    new ExotelRealtimeTransport({ exotelWebSocket: connection, url, now, clock }),
  createPeerSimulator: () =>
    new ExotelPeerSimulator({ sampleRate: 8000, inputFormat: TRACE_FORMAT, startFormat: 'live' }),
};
