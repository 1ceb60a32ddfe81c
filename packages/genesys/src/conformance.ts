import type { AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { GenesysPeerSimulator } from './peer.js';
import { GenesysAudioHookProtocol } from './protocol.js';
import { GenesysRealtimeTransport } from './transport.js';

const PCMU_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/**
 * The Genesys adapter as the conformance harness loads it (`--adapter @switchboard/genesys`):
 * PCMU 8 kHz, the format Audio Connector bots use, offered by a peer that pings the bridge every
 * second of audio, holds the caller's audio until the bridge answered `opened`, and refuses any
 * server message out of sequence or with a field too many. Binary audio has neither timestamps
 * nor sequence numbers: one ordered socket carries it, in real time.
 */
export const conformance: ConformanceAdapter = {
  name: 'genesys',
  traceCarrier: 'genesys',
  createProtocol: () => new GenesysAudioHookProtocol(),
  capabilities: new GenesysAudioHookProtocol().capabilities,
  carrierFormat: PCMU_8K,
  mediaTimestamps: false,
  mediaSequence: false,
  createTransport: ({ connection, url, now, clock }) =>
    new GenesysRealtimeTransport({ genesysWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new GenesysPeerSimulator({ inputFormat: PCMU_8K }),
};
