/**
 * Record in production, replay in CI: a bundled call replayed through a carrier's transport with
 * the recorder on, written by `fs.createWriteStream`, then the recording replayed by the CLI
 * (`switchboard-conformance run --adapter <package> --trace <recording>`), which must pass: the
 * built bin for the Twilio call, the same command run in this process for the Telnyx one.
 * Needs the packages built (`pnpm build`; the test command builds them first).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseTrace, traceExpect } from '@switchboard/conformance';
import { TelnyxRealtimeTransport } from '@switchboard/telnyx';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInProcess } from '../../../test-harness/test/cli-in-process.js';
import { base64Decode } from '../src/index.js';
import { recordCall as record, removeRecordings } from './helpers/recording.js';

const harnessDir = fileURLToPath(new URL('../../../test-harness/', import.meta.url));
afterAll(removeRecordings);

/** Runs the CLI; resolves with its exit code and output, or kills it after `timeoutMs`. */
function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/switchboard-conformance.js', ...args], {
      cwd: harnessDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
    const { file, text, original } = await record(
      'recorded-dtmf',
      twilio,
      (record) =>
        ({ connection, url, now, clock }) =>
          new TwilioRealtimeTransport({ twilioWebSocket: connection, url, now, clock, record }),
    );
    const recorded = parseTrace(text, file);
    expect(recorded.header).toMatchObject({
      name: 'recorded-dtmf',
      source: 'production',
      carrier: 'twilio',
      redacted: ['phone-numbers', 'custom-parameters', 'audio:noise'],
    });
    const events = recorded.frames.map((f) => f.frame['event']);
    const originalEvents = original.frames.map((f) => f.frame['event']);
    // Every frame the carrier sent is there, in order (with the carrier's echoes of the bridge's marks).
    expect(events.filter((e) => e !== 'mark')).toEqual(originalEvents.filter((e) => e !== 'mark'));
    // What the bridge sent is there too, and the caller's audio is not.
    const lines = text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => (l['sent'] as { event?: string } | undefined)?.event === 'media')).toBe(true);
    const firstMedia = (frames: typeof original.frames) =>
      frames.find((f) => f.frame['event'] === 'media')!.frame['media'] as { payload: string };
    expect(base64Decode(firstMedia(recorded.frames).payload).byteLength).toBe(
      base64Decode(firstMedia(original.frames).payload).byteLength,
    );
    const loud = original.frames
      .filter((f) => f.frame['event'] === 'media')
      .map((f) => (f.frame['media'] as { payload: string }).payload);
    const kept = new Set(
      recorded.frames
        .filter((f) => f.frame['event'] === 'media')
        .map((f) => (f.frame['media'] as { payload: string }).payload),
    );
    expect(loud.filter((p) => kept.has(p)).length).toBeLessThan(loud.length / 10);
    // The noise keeps the speech where it was: the harness's detector finds the same utterances,
    // as long and as far apart. (The whole call may sit later on the recording's clock: it starts
    // at the first frame the bridge got, and a busy machine can be slow to send the next ones.)
    const before = traceExpect(original).utterances;
    const after = traceExpect(recorded).utterances;
    expect(before.length).toBeGreaterThan(0);
    expect(after).toHaveLength(before.length);
    const shift = after[0]!.startMs - before[0]!.startMs;
    after.forEach((u, i) => {
      expect(Math.abs(u.startMs - shift - before[i]!.startMs)).toBeLessThan(400);
      expect(Math.abs(u.endMs - shift - before[i]!.endMs)).toBeLessThan(400);
    });

    const { code, output } = await runCli(['run', '--adapter', '@switchboard/twilio', '--trace', file], 120_000);
    expect(output).toContain('recorded-dtmf');
    expect(code, output).toBe(0);
  }, 180_000);

  it('records a Telnyx call in its own format, which the CLI replays through the Telnyx adapter and passes', async () => {
    const { file, text } = await record(
      'recorded-telnyx',
      telnyx,
      (record) =>
        ({ connection, url, now, clock }) =>
          new TelnyxRealtimeTransport({ telnyxWebSocket: connection, url, now, clock, record }),
    );
    const recorded = parseTrace(text, file);
    expect(recorded.header.carrier).toBe('telnyx');
    expect(
      recorded.frames.some(
        (f) => f.frame['event'] === 'media' && typeof (f.frame['media'] as { payload?: unknown }).payload === 'string',
      ),
    ).toBe(true);
    const { status, stdout, stderr } = await cliInProcess(
      ['run', '--adapter', '@switchboard/telnyx', '--trace', file, '--json'],
      { cwd: harnessDir },
    );
    expect(status, `${stdout}${stderr}`).toBe(0);
    // Replayed and checked, not set aside (n/a) as another carrier's trace.
    const report = JSON.parse(stdout) as {
      traces: Array<{ trace: string; outcomes: Array<{ id: string; status: string }> }>;
    };
    expect(report.traces.map((t) => t.trace)).toEqual(['recorded-telnyx']);
    const passed = report.traces[0]!.outcomes.filter((o) => o.status === 'pass').map((o) => o.id);
    expect(passed).toEqual(expect.arrayContaining(['input.lossless', 'output.lossless', 'dtmf.order']));
  }, 180_000);
});
