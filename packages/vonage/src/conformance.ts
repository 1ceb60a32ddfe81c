import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { conformance as websocketAdapters } from '@switchboard/websocket/testing';
import { VonageRealtimeTransport } from './transport.js';

const base = websocketAdapters.find((adapter) => adapter.name === 'websocket/vonage');
if (!base) throw new Error('@switchboard/websocket has no vonage conformance adapter');

/**
 * The Vonage adapter as the conformance harness loads it (`--adapter @switchboard/vonage`, found at
 * `@switchboard/vonage/testing`):
 * `@switchboard/websocket`'s Vonage adapter (L16 16 kHz on the wire, its peer converting the
 * traces' μ-law), with the call bridged by {@link VonageRealtimeTransport}.
 */
export const conformance: ConformanceAdapter = {
  ...base,
  name: 'vonage',
  createTransport: ({ connection, url, now, clock }) =>
    new VonageRealtimeTransport({
      vonageWebSocket: connection,
      url,
      now,
      clock,
      ...(base.carrierFormat ? { format: base.carrierFormat } : {}),
    }),
};
