import type { CallEvent } from '@switchboard/core';
import type { FakeCarrier } from '@switchboard/conformance/testing';
import { PlivoPeerSimulator } from '../src/testing.js';

export const AUTH_ID = 'MAZDQ1ZJY0ZDA2ZTJMZA';
export const AUTH_TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
/** The call's CallUUID. */
export const CALL = '1ed7fd89-df77-4ebf-8196-d5cf7222c918';

/** The start of the call's stream, as Plivo's start event reads. */
export const START: CallEvent = {
  type: 'call_start',
  streamId: '87654321-4321-4321-4321-cba987654321',
  callId: CALL,
  customParameters: {},
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

/** Plays Plivo's start event to the transport on `carrier`. */
export function deliverStart(carrier: FakeCarrier, peer = new PlivoPeerSimulator()): void {
  for (const frame of peer.encodeInbound(START)) carrier.deliver(frame);
}
