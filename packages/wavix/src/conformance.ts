import type { AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { WavixPeerSimulator } from './peer.js';
import { WAVIX_AUDIO_FORMAT, WavixMediaStreamProtocol } from './protocol.js';
import { WavixRealtimeTransport } from './transport.js';

const TRACE_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/**
 * The Wavix adapter as the conformance harness loads it (`--adapter @switchboard/wavix`): PCM16
 * 24 kHz on the wire, the traces' μ-law converted by the peer. The peer refuses every media
 * message that is not exactly one 20 ms frame, so the `carrier.frames` check proves the framing.
 */
export const conformance: ConformanceAdapter = {
  name: 'wavix',
  traceCarrier: 'wavix',
  createProtocol: () => new WavixMediaStreamProtocol(),
  capabilities: new WavixMediaStreamProtocol().capabilities,
  carrierFormat: { ...WAVIX_AUDIO_FORMAT },
  // media.timestamp is not read (its clock rate is not documented): the stream runs continuously.
  mediaTimestamps: false,
  createTransport: ({ connection, url, now, clock }) =>
    new WavixRealtimeTransport({ wavixWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new WavixPeerSimulator({ inputFormat: TRACE_FORMAT }),
};
