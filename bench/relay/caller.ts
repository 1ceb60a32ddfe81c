/**
 * The caller process of the relay benchmark: N concurrent Twilio calls replaying a trace, each
 * playing the bridge's audio on a clock and echoing marks as Twilio does (pending marks too, on
 * `clear`).
 */
import { CallerSimulator, loadTrace, traceFormat } from '@switchboard/conformance';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { payloadKey, wallNow, type CallerCallReport } from './shared.js';

const [bridgeUrl, tracePath, callsArg, speedArg, secondsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const speed = Number(speedArg);
const untilMs = Number(secondsArg) * 1000;
const trace = await loadTrace(tracePath!);
const format = traceFormat(trace);

async function oneCall(index: number): Promise<CallerCallReport> {
  // Stagger the starts over a second of stream time, as calls arrive.
  await new Promise((resolve) => setTimeout(resolve, (index * 1000) / calls / speed));
  const call = String(index);
  const sends: Array<[number, number]> = [];
  let mediaBytesSent = 0;
  const caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format,
    speed,
  });
  const t0 = wallNow() - caller.now() / speed;
  const toWall = (streamMs: number) => t0 + streamMs / speed;
  await caller.connect(`${bridgeUrl}/media-stream?call=${call}`);
  const played = await caller.play(trace, {
    untilMs,
    onFrameSent: (frame) => {
      if (frame.event !== 'media') return;
      const payload = (frame.media as { payload: string }).payload;
      mediaBytesSent += Math.floor((payload.length * 3) / 4);
      sends.push([payloadKey(payload), wallNow()]);
    },
  });
  // Let queued audio play out, then hang up.
  await new Promise((resolve) => setTimeout(resolve, 300));
  caller.hangUp();
  await new Promise((resolve) => setTimeout(resolve, 100));
  caller.dispose();

  // Segments: audio that arrives after the caller's queue ran dry starts a new response.
  const segments: CallerCallReport['segments'] = [];
  let queueEnd = -Infinity;
  const chunkSegment: number[] = [];
  for (const chunk of caller.log.chunks) {
    if (chunk.receivedAt > queueEnd + 5) segments.push({ firstAt: toWall(chunk.receivedAt), bytes: 0, cleared: false });
    const segment = segments.length - 1;
    segments[segment]!.bytes += chunk.bytes.byteLength;
    chunkSegment.push(segment);
    queueEnd = chunk.startAt + (chunk.playedMs ?? chunk.durationMs);
  }
  const clears = caller.log.clears.map((clear) => {
    // What the caller heard of the response playing when the clear arrived.
    let segment = -1;
    caller.log.chunks.forEach((chunk, i) => {
      if (chunk.receivedAt <= clear.at) segment = chunkSegment[i]!;
    });
    let heardMs = 0;
    caller.log.chunks.forEach((chunk, i) => {
      if (chunkSegment[i] !== segment || chunk.receivedAt > clear.at) return;
      heardMs += Math.min(chunk.playedMs ?? chunk.durationMs, Math.max(0, clear.at - chunk.startAt));
    });
    if (segment >= 0) segments[segment]!.cleared = true;
    return { at: toWall(clear.at), heardMs, segment };
  });
  return {
    call,
    mediaBytesSent,
    mediaFramesSent: sends.length,
    sends,
    segments,
    clears,
    framesReceived: caller.log.chunks.length,
    rejected: caller.log.rejected.length + played.malformedSent,
  };
}

const reports = await Promise.all(Array.from({ length: calls }, (_, i) => oneCall(i)));
process.send!({ type: 'report', calls: reports }, () => process.exit(0));
