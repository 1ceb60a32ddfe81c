/**
 * `switchboard-conformance view <trace or recording> [--out page.html]`: draws one recorded call
 * as the HTML report does, from its frames alone (no replay).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { readRecording, recordingTimeline } from '../report/recording.js';
import { renderTimelinesPage } from '../report/render.js';
import { processIo, type CliIo } from './io.js';

export const VIEW_USAGE = `Usage:
  switchboard-conformance view <trace or recording> [--out page.html]

Draws one recorded call (a trace, or a recording with the bridge's \`sent\` lines; .jsonl or
.jsonl.gz) as a self-contained HTML page: the caller's and the agent's audio on one time axis,
starts, DTMF, marks and acknowledgements, clears, gaps. No replay: only the frames are read.
--out: where to write the page (default: <file name>.html in the current folder).`;

export async function viewCommand(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${VIEW_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${VIEW_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(
      `${positionals.length === 0 ? 'a trace or recording file is required' : 'one file at a time'}\n\n${VIEW_USAGE}\n`,
    );
    return 2;
  }
  const file = resolve(io.cwd, positionals[0]!);
  if (!existsSync(file)) {
    io.stderr.write(`no such file: ${positionals[0]}\n`);
    return 2;
  }
  let recording;
  try {
    recording = await readRecording(file);
  } catch (error) {
    io.stderr.write(`cannot read ${positionals[0]}: ${(error as Error).message}\n`);
    return 2;
  }
  if (recording.carrier.length === 0 && recording.bridge.length === 0 && recording.raw.length === 0) {
    io.stderr.write(`${positionals[0]}: no frames (is it a trace?)\n`);
    return 2;
  }
  const out = resolve(io.cwd, values.out ?? `${basename(file).replace(/\.jsonl(\.gz)?$|\.gz$/, '')}.html`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, renderTimelinesPage(`Recorded call: ${recording.name}`, [recordingTimeline(recording)]));
  io.stdout.write(`${out}\n`);
  return 0;
}
