/**
 * Record in production, replay in CI: a bundled call replayed through the Twilio transport with
 * the recorder on, written by `fs.createWriteStream`, then the recording replayed by the built
 * CLI (`switchboard-conformance run --adapter @switchboard/twilio --trace <recording>`), which
 * must pass. Needs the harness and core built (`pnpm --filter @switchboard/conformance --filter
 * @switchboard/core build`).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledTracesDir, loadTrace, parseTrace, replayTrace, traceExpect } from '@switchboard/conformance';
import { conformance as twilio, TwilioRealtimeTransport } from '@switchboard/twilio';
import { afterAll, describe, expect, it } from 'vitest';
import { base64Decode, type ConformanceAdapter } from '../src/index.js';

const harnessDir = fileURLToPath(new URL('../../../test-harness/', import.meta.url));
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI; resolves with its exit code and output, or kills it after `timeoutMs`. */
function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/switchboard-conformance.js', ...args], { cwd: harnessDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a recorded call replays in CI', () => {
  it('records a Twilio call as a Twilio trace that the CLI replays and passes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-recording-'));
    const file = join(dir, 'recorded-dtmf.jsonl');
    const stream = createWriteStream(file);
    const closed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    const recording: ConformanceAdapter = {
      ...twilio,
      createTransport: ({ connection, url, now, clock }) =>
        new TwilioRealtimeTransport({ twilioWebSocket: connection, url, now, clock, record: { sink: stream, name: 'recorded-dtmf', source: 'production' } }),
    };
    const original = await loadTrace(join(bundledTracesDir(), 'dtmf.jsonl'));
    await replayTrace(recording, original, { injectMalformed: false });
    // The recorder ends the stream when the call ends.
    await closed;

    const text = await readFile(file, 'utf8');
    const recorded = parseTrace(text, file);
    expect(recorded.header).toMatchObject({ name: 'recorded-dtmf', source: 'production', carrier: 'twilio', redacted: ['phone-numbers', 'custom-parameters', 'audio:noise'] });
    const events = recorded.frames.map((f) => f.frame['event']);
    const originalEvents = original.frames.map((f) => f.frame['event']);
    // Every frame the carrier sent is there, in order (with the carrier's echoes of the bridge's marks).
    expect(events.filter((e) => e !== 'mark')).toEqual(originalEvents.filter((e) => e !== 'mark'));
    // What the bridge sent is there too, and the caller's audio is not.
    const lines = text.trim().split('\n').slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => (l['sent'] as { event?: string } | undefined)?.event === 'media')).toBe(true);
    const firstMedia = (frames: typeof original.frames) => frames.find((f) => f.frame['event'] === 'media')!.frame['media'] as { payload: string };
    expect(base64Decode(firstMedia(recorded.frames).payload).byteLength).toBe(base64Decode(firstMedia(original.frames).payload).byteLength);
    const loud = original.frames.filter((f) => f.frame['event'] === 'media').map((f) => (f.frame['media'] as { payload: string }).payload);
    const kept = new Set(recorded.frames.filter((f) => f.frame['event'] === 'media').map((f) => (f.frame['media'] as { payload: string }).payload));
    expect(loud.filter((p) => kept.has(p)).length).toBeLessThan(loud.length / 10);
    // The noise keeps the speech where it was: the harness's detector finds the same utterances.
    const before = traceExpect(original).utterances;
    const after = traceExpect(recorded).utterances;
    expect(before.length).toBeGreaterThan(0);
    expect(after).toHaveLength(before.length);
    after.forEach((u, i) => {
      expect(Math.abs(u.startMs - before[i]!.startMs)).toBeLessThan(400);
      expect(Math.abs(u.endMs - before[i]!.endMs)).toBeLessThan(400);
    });

    const { code, output } = await runCli(['run', '--adapter', '@switchboard/twilio', '--trace', file], 120_000);
    expect(output).toContain('recorded-dtmf');
    expect(code, output).toBe(0);
  }, 180_000);
});
