/**
 * The conformance report: calls drawn on one timeline as a self-contained HTML page, and the
 * per-call dump (WAV, timeline JSON, frames).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ReportCall } from './model.js';
import { renderTimelinesPage } from './render.js';
import { replayTimeline } from './timeline.js';

export type {
  CallTimeline,
  PlacedAudio,
  ReportCall,
  TimelineFailure,
  TimelineMarker,
  TimelineSpan,
  Verdict,
} from './model.js';
export { replayTimeline, locateFailure } from './timeline.js';
export { escapeHtml, renderTimelineSvg, renderTimelinesPage } from './render.js';
export { DUMP_FILES, writeCallDump } from './dump.js';
export { wavFile } from './audio.js';
export { recordingTimeline, readRecording } from './recording.js';

/** The HTML page of a conformance run's calls. */
export function renderHtmlReport(calls: ReportCall[], title = 'Switchboard conformance report'): string {
  return renderTimelinesPage(title, calls.map(replayTimeline));
}

/** Writes {@link renderHtmlReport} to `path` (creating its folder). */
export async function writeHtmlReport(path: string, calls: ReportCall[], title?: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderHtmlReport(calls, title));
}
export { reportCallOf, reportSink, type ReportSink } from './sink.js';
