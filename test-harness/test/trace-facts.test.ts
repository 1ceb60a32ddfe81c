import { describe, expect, it } from 'vitest';
import {
  bundledTracesDir,
  loadTraces,
  traceExpect,
  traceHazards,
  UTTERANCE_TOLERANCE_MS,
  type Trace,
} from '../src/trace.js';

/** The trace as a capture would have it: no `expect` block, every fact left to the frames. */
const bare = (trace: Trace): Trace => ({ ...trace, header: { ...trace.header, expect: undefined } });

describe('facts derived from the frames of the bundled corpus', async () => {
  const traces = await loadTraces(bundledTracesDir());

  it.each(traces.map((t) => [t.header.name, t] as const))(
    '%s: derived facts match the hand-written expect block',
    (_name, trace) => {
      const declared = trace.header.expect!;
      const derived = traceExpect(bare(trace));
      expect(derived.dtmf).toEqual(declared.dtmf);
      expect(derived.customParameters).toEqual(declared.customParameters);
      expect(derived.callSid).toBe(declared.callSid);
      expect(derived.streamSids).toEqual(declared.streamSids);
      expect(derived.inboundMediaBytes).toBe(declared.inboundMediaBytes);
      expect(derived.gapMs).toBe(declared.gapMs);
      expect(derived.durationMs).toBe(declared.durationMs);
      const offsets = derived.utterances.map((u, i) => [
        u.startMs - declared.utterances![i]!.startMs,
        u.endMs - declared.utterances![i]!.endMs,
      ]);
      expect(derived.utterances.length).toBe(declared.utterances!.length);
      for (const [start, end] of offsets) {
        expect(Math.abs(start!)).toBeLessThanOrEqual(UTTERANCE_TOLERANCE_MS);
        expect(Math.abs(end!)).toBeLessThanOrEqual(UTTERANCE_TOLERANCE_MS);
      }
    },
  );

  it.each(traces.map((t) => [t.header.name, t] as const))(
    '%s: the hazards the frames show are among those declared',
    (_name, trace) => {
      expect(traceHazards(trace).sort()).toEqual([...trace.header.hazards].sort());
    },
  );
});
