import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_SPEED,
  TURN_DETECTION_ENV,
  TURN_DETECTION_MODES,
  bundledTracesDir,
  loadTrace,
  loadTraces,
  modeOfSessionUpdates,
  parseTurnDetectionSelection,
  replayTrace,
  retrySpeed,
  runChecks,
  turnDetectionFromEnv,
  turnDetectionModes,
  type ReplayResult,
  type TurnDetectionMode,
} from '@switchboard/conformance';
import { conformance as cloudflare, createConformanceAdapter } from '@switchboard/cloudflare/testing';
import { conformance as exotel } from '@switchboard/exotel/testing';
import { conformance as plivo } from '@switchboard/plivo/testing';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { conformance as twilio, signalwireConformance } from '@switchboard/twilio/testing';
import { conformance as vonage } from '@switchboard/vonage/testing';
import { conformance as websocket } from '@switchboard/websocket/testing';
import { conformance as sipRtp } from '@switchboard/sip/testing';
import { lateCancelLink } from './late-cancel-link.js';

// The session's turn detection in the conformance matrix: users run the service's defaults (the
// server cancels its own reply at `speech_started`) and semantic VAD as much as a bridge-driven
// barge-in, so the matrix runs all three, one per adapter × trace, rotated.

const status = (result: ReplayResult, id: string) => runChecks(result).find((o) => o.check.id === id)!.outcome;

describe('turn detection in the matrix', () => {
  it('rotates the modes so that every adapter and every trace of the corpus runs each of them', async () => {
    const adapters = [
      twilio,
      signalwireConformance,
      websocket,
      vonage,
      telnyx,
      plivo,
      exotel,
      cloudflare,
      createConformanceAdapter({ nodeCompat: true }),
      sipRtp,
    ].flat();
    const traces = (await loadTraces(bundledTracesDir())).map((t) => t.header.name);
    expect(traces.length).toBeGreaterThanOrEqual(TURN_DETECTION_MODES.length);
    const byTrace = new Map<string, Set<TurnDetectionMode>>();
    for (const adapter of adapters) {
      const modes = new Set<TurnDetectionMode>();
      for (const trace of traces) {
        const [mode, ...more] = turnDetectionModes('rotate', adapter.name, trace, traces);
        expect(more).toEqual([]);
        modes.add(mode!);
        byTrace.set(trace, (byTrace.get(trace) ?? new Set()).add(mode!));
        // Stable: a filter on the traces, or their order, does not move a trace's mode.
        expect(turnDetectionModes('rotate', adapter.name, trace, [...traces].reverse())).toEqual([mode]);
      }
      expect([...modes].sort(), adapter.name).toEqual([...TURN_DETECTION_MODES].sort());
    }
    for (const [trace, modes] of byTrace) expect([...modes].sort(), trace).toEqual([...TURN_DETECTION_MODES].sort());
    expect(turnDetectionModes('all', 'twilio', 'dtmf', traces)).toEqual([...TURN_DETECTION_MODES]);
    expect(turnDetectionModes('semantic_vad', 'twilio', 'dtmf', traces)).toEqual(['semantic_vad']);
  });

  describe('the selection from the environment', () => {
    const before = process.env[TURN_DETECTION_ENV];
    afterEach(() => {
      if (before === undefined) delete process.env[TURN_DETECTION_ENV];
      else process.env[TURN_DETECTION_ENV] = before;
    });
    it('reads all, rotate or a mode, and refuses anything else', () => {
      delete process.env[TURN_DETECTION_ENV];
      expect(turnDetectionFromEnv()).toBeUndefined();
      process.env[TURN_DETECTION_ENV] = ' all ';
      expect(turnDetectionFromEnv()).toBe('all');
      process.env[TURN_DETECTION_ENV] = 'server_vad_interrupt';
      expect(turnDetectionFromEnv()).toBe('server_vad_interrupt');
      process.env[TURN_DETECTION_ENV] = 'semantic';
      expect(() => turnDetectionFromEnv()).toThrow(RangeError);
      expect(() => parseTurnDetectionSelection('none')).toThrow(/rotate, all/);
    });
  });

  it('reads the mode a session ran from its session.update events (the service interrupts by default)', () => {
    const update = (td: unknown) => ({ type: 'realtime', audio: { input: { turn_detection: td } } });
    expect(modeOfSessionUpdates([])).toBeUndefined();
    expect(modeOfSessionUpdates([update({ type: 'server_vad', interrupt_response: false })])).toBe('server_vad');
    expect(modeOfSessionUpdates([update({ type: 'server_vad' })])).toBe('server_vad_interrupt');
    expect(
      modeOfSessionUpdates([
        update({ type: 'semantic_vad', interrupt_response: true }),
        { type: 'realtime', instructions: 'x' },
      ]),
    ).toBe('semantic_vad');
    expect(
      modeOfSessionUpdates([update({ type: 'server_vad', interrupt_response: false }), update(null)]),
    ).toBeUndefined();
  });
});

describe('a barge-in surfaces no error to the session', () => {
  // The caller speaks just as the model finishes its reply: the bridge's cancel reaches the model
  // after the response's end (the link holds it until then), and the model refuses it.
  it('in every mode, even when the cancel crosses the end of the response', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    // The scenario needs the caller to barge in over queued audio while the model is still
    // generating its reply. A stall of a loaded machine can move the barge-in: then the replay
    // runs again, slower, as the suite does for its timing checks.
    const replay = async (turnDetection: TurnDetectionMode) => {
      for (let attempt = 1; ; attempt++) {
        let link: Awaited<ReturnType<typeof lateCancelLink>> | undefined;
        const result = await replayTrace(twilio, trace, {
          turnDetection,
          speed: retrySpeed(DEFAULT_SPEED, attempt),
          modelLink: async (url) => (link = await lateCancelLink(url)),
        });
        const held = link?.held() ?? 0;
        // Over queued audio: where the model cancels, the bridge then truncates what was not heard.
        const truncated = result.timeline.some((e) => e.type === 'client:conversation.item.truncate');
        const bargedIn =
          status(result, 'bargein.cancel').status === 'pass' && (turnDetection === 'server_vad' ? held > 0 : truncated);
        if (bargedIn || attempt >= 3) return { result, held };
      }
    };
    const [bridge, server, semantic] = await Promise.all(
      (['server_vad', 'server_vad_interrupt', 'semantic_vad'] as const).map(replay),
    );
    const bridgeCancels = bridge!.result;
    const serverCancels = server!.result;
    const semanticResult = semantic!.result;
    expect(bridge!.held).toBeGreaterThanOrEqual(1);

    // server_vad: the bridge cancels the reply, by id; the model had finished it and says so.
    expect(bridgeCancels.sessionTurnDetection).toBe('server_vad');
    const cancels = bridgeCancels.model!.events.filter((e) => e.event.type === 'response.cancel').map((e) => e.event);
    expect(cancels.length).toBeGreaterThanOrEqual(1);
    expect(bridgeCancels.model!.cancels.some((c) => !c.active)).toBe(true);
    expect(bridgeCancels.model!.errors.map((e) => e.code)).toContain('response_cancel_not_active');
    expect(status(bridgeCancels, 'bargein.errors'), status(bridgeCancels, 'bargein.errors').detail).toMatchObject({
      status: 'pass',
    });
    expect(status(bridgeCancels, 'bargein.cancel')).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/just after the response ended/),
    });
    // (Clear and truncate are timing checks: the conformance suite judges them, with its retries.)

    // With interrupt_response (server_vad's default, and semantic VAD's), the model cancels its own
    // reply: the bridge clears the carrier and truncates, and sends no cancel to race it.
    for (const [result, mode] of [
      [serverCancels, 'server_vad_interrupt'],
      [semanticResult, 'semantic_vad'],
    ] as const) {
      expect(result.sessionTurnDetection).toBe(mode);
      expect(result.model!.events.filter((e) => e.event.type === 'response.cancel')).toEqual([]);
      expect(result.model!.responses.some((r) => r.status === 'cancelled' && r.cancelReason === 'turn_detected')).toBe(
        true,
      );
      for (const id of ['bargein.errors', 'bargein.cancel'])
        expect(status(result, id), `${mode} ${id}`).toMatchObject({ status: 'pass' });
      expect(result.timeline.some((e) => e.type === 'client:conversation.item.truncate')).toBe(true);
    }
    expect(server!.held + semantic!.held).toBe(0);
  }, 240_000);
});
