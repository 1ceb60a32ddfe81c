import type { AudioFormat, CallEvent } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { AzurePeerSimulator, type AzurePeerSimulatorOptions } from './peer.js';
import { AzureMediaStreamProtocol } from './protocol.js';
import { AzureRealtimeTransport } from './transport.js';

const TRACE_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
/** Calls the simulated ACS announced and not yet looked up by a bridge. */
const MAX_KNOWN_CALLS = 1000;

/**
 * What the application of a conformance run knows of each call, by subscription id. ACS's frames
 * carry neither the call's id nor parameters: a bridge learns them from the upgrade request's
 * headers or from `answerCall`. The simulated ACS announces them here, the bridge looks them up.
 */
const knownCalls = new Map<string, { callConnectionId?: string; customParameters: Record<string, string> }>();

function announce(subscriptionId: string, event: Extract<CallEvent, { type: 'call_start' }>): void {
  knownCalls.delete(subscriptionId);
  knownCalls.set(subscriptionId, {
    ...(event.callId === undefined ? {} : { callConnectionId: event.callId }),
    customParameters: { ...event.customParameters },
  });
  while (knownCalls.size > MAX_KNOWN_CALLS) knownCalls.delete(knownCalls.keys().next().value as string);
}

/** The wire a conformance run plays: ACS's stream rate, and how its silent frames come. */
export type AzureConformanceWire = Pick<AzurePeerSimulatorOptions, 'sampleRate' | 'silentFrames'> & { name?: string };

/** A conformance adapter for ACS streaming at `sampleRate`, its silent frames sent as `silentFrames` says. */
export function azureConformanceAdapter(wire: AzureConformanceWire = {}): ConformanceAdapter {
  const sampleRate = wire.sampleRate ?? 16000;
  return {
    name: wire.name ?? 'azure',
    traceCarrier: 'azure',
    createProtocol: () => new AzureMediaStreamProtocol({ sampleRate }),
    capabilities: new AzureMediaStreamProtocol().capabilities,
    carrierFormat: { encoding: 'l16', sampleRate, channels: 1 },
    // AudioData carries a wall-clock timestamp, not a stream position, and no sequence number: ACS
    // streams continuously over one ordered socket, silence included.
    mediaTimestamps: false,
    mediaSequence: false,
    createTransport: ({ connection, url, now, clock }) =>
      new AzureRealtimeTransport({
        azureWebSocket: connection,
        url,
        now,
        clock,
        sampleRate,
        describeCall: (subscriptionId) => knownCalls.get(subscriptionId),
      }),
    createPeerSimulator: () => {
      const options: AzurePeerSimulatorOptions = { sampleRate, inputFormat: TRACE_FORMAT, onCallStart: announce };
      if (wire.silentFrames !== undefined) options.silentFrames = wire.silentFrames;
      return new AzurePeerSimulator(options);
    },
  };
}

/**
 * The ACS adapter as the conformance harness loads it (`--adapter @switchboard/azure`): 16-bit PCM
 * at 16 kHz on the wire (ACS's default `pcm16KMono`), the traces' μ-law converted by the peer. ACS
 * sends no playback acknowledgements, so the playout clock and output pacing are under test; the
 * peer rejects audio that is not whole 20 ms frames, so `carrier.frames` proves the framing.
 */
export const conformance: ConformanceAdapter = azureConformanceAdapter();
