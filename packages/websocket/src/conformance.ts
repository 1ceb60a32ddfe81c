import type { AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { MULAW_8K } from './formats.js';
import { RawWebSocketPeerSimulator } from './peer.js';
import { RawWebSocketProtocol, type RawWebSocketProtocolOptions } from './protocol.js';
import type { RawWebSocketPresetName } from './presets/index.js';
import { RawWebSocketRealtimeTransport } from './transport.js';

/** The traces' own audio: μ-law at 8 kHz. */
const TRACE_FORMAT: AudioFormat = MULAW_8K;

function adapter(
  preset: RawWebSocketPresetName,
  carrierFormat: AudioFormat,
  peer: { json?: boolean } = {},
  wire: { carriesStreamId?: boolean } = {},
): ConformanceAdapter {
  const options: RawWebSocketProtocolOptions = { preset, format: carrierFormat };
  return {
    name: `websocket/${preset}`,
    capabilities: new RawWebSocketProtocol(options).capabilities,
    carrierFormat,
    // Raw audio has no timestamps: the gateway streams in real time, silence included. Nor has it
    // sequence numbers: one ordered socket carries it, so it cannot arrive out of order.
    mediaTimestamps: false,
    mediaSequence: false,
    carriesStreamId: wire.carriesStreamId ?? true,
    // A recording of this preset's calls (its protocol's name as the trace's carrier) replays frame for frame.
    traceCarrier: preset,
    createProtocol: () => new RawWebSocketProtocol(options),
    createTransport: ({ connection, url, now, clock }) =>
      new RawWebSocketRealtimeTransport({ websocket: connection, preset: options, url, now, clock }),
    createPeerSimulator: () =>
      new RawWebSocketPeerSimulator({ preset, format: carrierFormat, inputFormat: TRACE_FORMAT, ...peer }),
  };
}

/**
 * The raw WebSocket adapters as the conformance harness loads them
 * (`--adapter @switchboard/websocket`), one per preset, each in a format of its own:
 * Vonage L16 16 kHz, Asterisk μ-law (JSON control), jambonz L16 8 kHz and generic
 * L16 24 kHz. Their peers convert the traces' μ-law into that format.
 */
export const conformance: ConformanceAdapter[] = [
  // Vonage and jambonz name the call, not a stream: the call id stands in for the stream id.
  adapter('vonage', { encoding: 'l16', sampleRate: 16000, channels: 1 }, {}, { carriesStreamId: false }),
  adapter('asterisk', MULAW_8K, { json: true }),
  adapter('jambonz', { encoding: 'l16', sampleRate: 8000, channels: 1 }, {}, { carriesStreamId: false }),
  adapter('generic', { encoding: 'l16', sampleRate: 24000, channels: 1 }),
];
