/**
 * The Worker's session runs the turn detection the harness asks for: the replay reads what the
 * session set up from its `session.update`s on the realtime simulator.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledTracesDir, loadTrace, replayTrace, type TurnDetectionMode } from '@switchboard/conformance';
import { createConformanceAdapter } from '../src/testing.js';

const adapter = createConformanceAdapter();

afterAll(async () => {
  await adapter.dispose?.();
});

describe('cloudflare conformance Worker: turn detection', () => {
  const modes: TurnDetectionMode[] = ['semantic_vad', 'server_vad_interrupt', 'server_vad'];
  for (const mode of modes) {
    it(`sets up ${mode} when asked`, async () => {
      // The shortest trace of the corpus: the session's setup, not the call, is under test.
      const trace = await loadTrace(join(bundledTracesDir(), 'no-stop.jsonl'));
      const result = await replayTrace(adapter, trace, { turnDetection: mode, injectMalformed: false });
      expect(result.failures).toEqual([]);
      expect(result.turnDetection).toBe(mode);
      expect(result.sessionTurnDetection).toBe(mode);
    });
  }
});
