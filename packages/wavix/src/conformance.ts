import type { AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { WavixPeerSimulator } from './peer.js';
import { WAVIX_AUDIO_FORMAT, WavixMediaStreamProtocol } from './protocol.js';
import { WavixRealtimeTransport } from './transport.js';

const TRACE_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/**
 * The parameters of each stream the peer started, by stream id: Wavix's `start` carries none, so
 * the bridge gets them as an application does, from what it kept for the call (the stream URL's
 * query). Taken once, when the bridge reads the stream's `start`.
 */
const streamParameters = new Map<string, Record<string, string>>();

function takeParameters({ streamId }: { streamId: string }): Record<string, string> | undefined {
  const parameters = streamParameters.get(streamId);
  streamParameters.delete(streamId);
  return parameters;
}

/**
 * The Wavix adapter as the conformance harness loads it (`--adapter @switchboard/wavix`): PCM16
 * 24 kHz on the wire, the traces' μ-law converted by the peer. The peer refuses every media
 * message that is not exactly one 20 ms frame, so the `carrier.frames` check proves the framing.
 * The stream's custom parameters reach the bridge as an application hands them over: keyed by the
 * stream, outside the wire.
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
    new WavixRealtimeTransport({ wavixWebSocket: connection, url, now, clock, customParameters: takeParameters }),
  createPeerSimulator: () =>
    new WavixPeerSimulator({
      inputFormat: TRACE_FORMAT,
      onStart: ({ streamId, customParameters }) => streamParameters.set(streamId, customParameters),
    }),
};
