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

/**
 * Replays the bundled trace `from` (default `dtmf`) through `adapter` with the transport
 * `withRecording` builds recording to a file; returns the file and its text once the recorder
 * ended the stream, and the trace replayed.
 */
export async function recordCall(
  name: string,
  adapter: ConformanceAdapter,
  withRecording: (record: CallRecordingOptions) => ConformanceAdapter['createTransport'],
  from = 'dtmf',
) {
  dir ??= await mkdtemp(join(tmpdir(), 'switchboard-recording-'));
  const file = join(dir, `${name}.jsonl`);
  const stream = createWriteStream(file);
  const closed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
  const recording: ConformanceAdapter = {
    ...adapter,
    createTransport: withRecording({ sink: stream, name, source: 'production' }),
  };
  const original = await loadTrace(join(bundledTracesDir(), `${from}.jsonl`));
  await replayTrace(recording, original, { injectMalformed: false });
  // The recorder ends the stream when the call ends.
  await closed;
  return { file, text: await readFile(file, 'utf8'), original };
}
