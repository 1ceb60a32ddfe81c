import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { bundledTracesDir, loadTrace, replayTrace, runChecks } from '@switchboard/conformance';

// The caller sends the adapter's own malformed frames, and errors.malformed names the one that
// gave no ProtocolError: here a frame the carrier's bridge rightly accepts, listed by mistake.

const CONNECTED = '{"event":"connected","protocol":"Call","version":"1.0.0"}';

it("sends the peer's own malformed frames and names the one that gave no ProtocolError", async () => {
  const adapter: ConformanceAdapter = {
    ...twilio,
    createPeerSimulator: () => {
      const peer = twilio.createPeerSimulator();
      return Object.assign(peer, { malformedFrames: () => [CONNECTED, 'this is no frame'] });
    },
  };
  const trace = await loadTrace(join(bundledTracesDir(), 'no-stop.jsonl'));
  const result = await replayTrace(adapter, trace);
  expect(result.carrier.malformed.map((m) => m.frame)).toEqual([CONNECTED, 'this is no frame']);
  const outcome = runChecks(result).find((o) => o.check.id === 'errors.malformed')!.outcome;
  expect(outcome).toEqual({
    status: 'fail',
    detail: `malformed frame 1 of 2, ${JSON.stringify(CONNECTED)}, gave no ProtocolError`,
  });
}, 120_000);
