/**
 * What the simulated model says: a list of turns played in order, one per response.
 * The default script uses the recorded agent replies shipped in `assets/agent/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, Resampler } from '@switchboard/core';

export type SimulatorTurn =
  | {
      kind: 'audio';
      transcript: string;
      /** PCM16 mono, 24 kHz. */
      audio: Int16Array;
      /**
       * A function the model calls in the same response, once its audio is out: a second output
       * item after the message (a goodbye followed by `end_call`).
       */
      call?: SimulatorFunctionCall;
    }
  | ({ kind: 'function_call' } & SimulatorFunctionCall);

/** A function call of a scripted turn. */
export type SimulatorFunctionCall = { name: string; arguments: Record<string, unknown> };

export const MODEL_SAMPLE_RATE = 24000;

const REPLIES_FILE = join('assets', 'agent', 'replies.json');

/** The directory of this module, in the ESM source, the ESM build and the CJS build alike. */
function moduleDirectory(): string | undefined {
  try {
    const url = import.meta.url;
    if (typeof url === 'string' && url.length > 0) return dirname(fileURLToPath(url));
  } catch {
    // Not an ES module (the CJS build): fall back to __dirname below.
  }
  return typeof __dirname === 'string' ? __dirname : undefined;
}

/**
 * The `assets/agent/` folder of the package: the nearest ancestor of this module holding
 * `assets/agent/replies.json` (src/simulator/ in the sources, dist/ once built).
 */
export function agentAssetsDirectory(): string {
  const start = moduleDirectory();
  if (start !== undefined) {
    let dir = resolve(start);
    for (;;) {
      if (existsSync(join(dir, REPLIES_FILE))) return join(dir, 'assets', 'agent');
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    `@switchboard/conformance: agent reply assets not found (looked for ${REPLIES_FILE} in the ` +
      `ancestors of ${start ?? 'this module'}). Reinstall the package, or pass a script to ` +
      'RealtimeSimulator({ script }).',
  );
}

interface ReplyEntry {
  file: string;
  transcript: string;
}

function parseReplies(text: string, path: string): ReplyEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(`${path}: expected a non-empty array of { file, transcript }`);
  }
  return data.map((entry: unknown, index) => {
    const e = entry as Partial<ReplyEntry> | null;
    if (!e || typeof e.file !== 'string' || typeof e.transcript !== 'string') {
      throw new Error(`${path}: entry ${index} needs a string "file" and a string "transcript"`);
    }
    return { file: e.file, transcript: e.transcript };
  });
}

function resampleTo24k(samples: Int16Array, rate: number): Int16Array {
  if (rate === MODEL_SAMPLE_RATE) return samples;
  const resampler = new Resampler(rate, MODEL_SAMPLE_RATE);
  const head = resampler.process(samples);
  const tail = resampler.flush();
  const out = new Int16Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/**
 * The recorded agent replies as audio turns (PCM16 mono 24 kHz), in the order of
 * `replies.json`. Throws a descriptive error when the assets are missing or malformed.
 */
export function loadAgentReplies(options: { directory?: string } = {}): SimulatorTurn[] {
  const dir = options.directory ?? agentAssetsDirectory();
  const listPath = join(dir, 'replies.json');
  if (!existsSync(listPath)) {
    throw new Error(`@switchboard/conformance: ${listPath} does not exist`);
  }
  const entries = parseReplies(readFileSync(listPath, 'utf8'), listPath);
  return entries.map((entry) => {
    const wavPath = join(dir, entry.file);
    if (!existsSync(wavPath)) {
      throw new Error(`@switchboard/conformance: ${wavPath} (listed in ${listPath}) does not exist`);
    }
    let decoded: { sampleRate: number; samples: Int16Array };
    try {
      decoded = decodeWav(new Uint8Array(readFileSync(wavPath)));
    } catch (error) {
      throw new Error(`@switchboard/conformance: ${wavPath} is not a readable WAV file (${(error as Error).message})`);
    }
    if (decoded.samples.length === 0) {
      throw new Error(`@switchboard/conformance: ${wavPath} holds no audio`);
    }
    return {
      kind: 'audio' as const,
      transcript: entry.transcript,
      audio: resampleTo24k(decoded.samples, decoded.sampleRate),
    };
  });
}

/**
 * The script used when none is given: the first recorded reply, then a call of the
 * `weather` tool for Paris, then the remaining recorded replies.
 */
export function defaultScript(): SimulatorTurn[] {
  const replies = loadAgentReplies();
  const [first, ...rest] = replies;
  if (!first) throw new Error('@switchboard/conformance: no agent replies found');
  return [first, { kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } }, ...rest];
}

/** Gap between the recorded replies joined into {@link longReplyScript}'s first turn, ms. */
const LONG_REPLY_GAP_MS = 400;

/**
 * The default script with a long first reply: every recorded reply in turn, 400 ms apart, as one
 * turn (about 18 s). Far longer than a carrier's playout lead, it is generated faster than real
 * time, so a bridge that does not pace or keep a playout clock of its own shows it.
 */
export function longReplyScript(): SimulatorTurn[] {
  const replies = loadAgentReplies().filter((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio');
  const gap = new Int16Array(Math.round((LONG_REPLY_GAP_MS * MODEL_SAMPLE_RATE) / 1000));
  const parts = replies.flatMap((r, i) => (i === 0 ? [r.audio] : [gap, r.audio]));
  const audio = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    audio.set(part, at);
    at += part.length;
  }
  const [, ...rest] = defaultScript();
  return [{ kind: 'audio', transcript: replies.map((r) => r.transcript).join(' '), audio }, ...rest];
}

/** The tool the conformance agent hangs up with (`endCallTool()`'s default name). */
export const END_CALL_TOOL = 'end_call';

/** The conformance agent's slow tool: a forecast that takes {@link SLOW_TOOL_MS} of stream time. */
export const SLOW_TOOL = 'forecast';

/** How long {@link SLOW_TOOL} runs, stream ms. */
export const SLOW_TOOL_MS = 4000;

/**
 * The script of a call the agent ends (hazard `agent-hangup`): the recorded goodbye (the last
 * reply), and in the same response a call of `end_call`, as a model that says goodbye and hangs up
 * does. The bridge must let the caller hear the goodbye before it ends the call.
 */
export function agentHangupScript(): SimulatorTurn[] {
  const goodbye = audioReplies().at(-1);
  if (!goodbye) throw new Error('@switchboard/conformance: no agent replies found');
  return [{ ...goodbye, call: { name: END_CALL_TOOL, arguments: {} } }];
}

/**
 * The script of a call with a slow tool (hazard `slow-tool`): the model calls {@link SLOW_TOOL},
 * which runs for seconds while the bridge plays filler audio, then answers with the recorded
 * forecast (the third reply).
 */
export function slowToolScript(): SimulatorTurn[] {
  const answer = audioReplies()[2];
  if (!answer) throw new Error('@switchboard/conformance: no agent replies found');
  return [{ kind: 'function_call', name: SLOW_TOOL, arguments: { location: 'Paris' } }, answer];
}

function audioReplies(): Array<Extract<SimulatorTurn, { kind: 'audio' }>> {
  return loadAgentReplies().filter((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio');
}
