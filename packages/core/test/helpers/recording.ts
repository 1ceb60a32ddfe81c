/**
 * Records a call for the recorder's end-to-end tests: a bundled trace replayed through a
 * carrier's transport with the recorder on, written by `fs.createWriteStream` into a temporary
 * directory (removed by `removeRecordings`).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledTracesDir, loadTrace, replayTrace } from '@switchboard/conformance';
import type { CallRecordingOptions } from '../../src/index.js';
import type { ConformanceAdapter } from '../../src/protocol.js';

let dir: string | undefined;

/** Removes the recordings written so far (for `afterAll`). */
export async function removeRecordings(): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
}

/** How far (real ms) the replayer may fall behind the trace's clock before a recording is made again. */
const STARVED_MS = 50;
/** Recordings made at most: the first at the replayer's usual speed, each other at half the one before. */
const ATTEMPTS = 3;
const FIRST_SPEED = 5;

/**
 * Replays the bundled trace `from` (default `dtmf`) through `adapter` with the transport
 * `withRecording` builds recording to a file; returns the file and its text once the recorder
 * ended the stream, and the trace replayed. A machine too busy to replay the call on its clock (the
 * replayer fell behind, so the caller's turns reached the bridge late and the call may have ended
 * before the agent's reply) records it again, slower, as the conformance suite replays a starved
 * call again: the recording is to show what the recorder writes, not how a busy machine replays.
 */
export async function recordCall(
  name: string,
  adapter: ConformanceAdapter,
  withRecording: (record: CallRecordingOptions) => ConformanceAdapter['createTransport'],
  from = 'dtmf',
) {
  dir ??= await mkdtemp(join(tmpdir(), 'switchboard-recording-'));
  const original = await loadTrace(join(bundledTracesDir(), `${from}.jsonl`));
  for (let attempt = 1; ; attempt++) {
    const file = join(dir, attempt === 1 ? `${name}.jsonl` : `${name}-${attempt}.jsonl`);
    const stream = createWriteStream(file);
    const closed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    const recording: ConformanceAdapter = {
      ...adapter,
      createTransport: withRecording({ sink: stream, name, source: 'production' }),
    };
    const speed = Math.max(1, FIRST_SPEED / 2 ** (attempt - 1));
    const result = await replayTrace(recording, original, { injectMalformed: false, speed });
    // The recorder ends the stream when the call ends.
    await closed;
    const lagMs = result.carrier.maxBehindMs / result.speed;
    if (lagMs < STARVED_MS || attempt >= ATTEMPTS) {
      return { file, text: await readFile(file, 'utf8'), original, attempts: attempt };
    }
  }
}
