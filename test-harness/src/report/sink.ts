/**
 * What `run --html <file> --dump <dir>` does with each checked replay: keeps it for the page,
 * writes its dump, and at the end writes the page.
 */
import type { CheckedReplay, TraceReport } from '../run.js';
import { writeCallDump } from './dump.js';
import type { CallTimeline, ReportCall } from './model.js';
import { renderTimelinesPage } from './render.js';
import { replayTimeline } from './timeline.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** A {@link ReportCall} from what `runConformance`'s `onChecked` gets. */
export function reportCallOf(adapter: string, report: TraceReport, checked: CheckedReplay): ReportCall {
  return {
    adapter,
    trace: report.trace,
    turnDetection: report.turnDetection,
    result: checked.result,
    // A check that can say when it went wrong (an `at`, stream ms) is flagged there on the timeline.
    outcomes: report.outcomes.map((o) => {
      const at = (o as { at?: unknown }).at;
      return {
        id: o.id,
        title: o.title,
        status: o.status,
        detail: o.detail,
        ...(typeof at === 'number' ? { at } : {}),
      };
    }),
  };
}

export type ReportSink = {
  /** The `onChecked` callback for one adapter's run (undefined when neither output is asked for). */
  onChecked(adapter: string): ((report: TraceReport, checked: CheckedReplay) => void) | undefined;
  /** Waits for the dumps, writes the page; returns what was written. */
  finish(): Promise<string[]>;
};

export function reportSink(options: { html?: string; dump?: string }): ReportSink {
  // Each call's timeline is taken as soon as it is checked: the replay itself is not kept to the end.
  const timelines: CallTimeline[] = [];
  const dumps: Array<Promise<string>> = [];
  return {
    onChecked(adapter) {
      if (!options.html && !options.dump) return undefined;
      return (report, checked) => {
        const call = reportCallOf(adapter, report, checked);
        if (options.html) timelines.push(replayTimeline(call));
        if (options.dump) dumps.push(writeCallDump(resolve(options.dump), call));
      };
    },
    async finish() {
      const written = await Promise.all(dumps);
      if (options.html) {
        const path = resolve(options.html);
        await mkdir(dirname(path), { recursive: true });
        timelines.sort(
          (a, b) =>
            a.adapter.localeCompare(b.adapter) ||
            a.trace.localeCompare(b.trace) ||
            a.turnDetection.localeCompare(b.turnDetection),
        );
        await writeFile(path, renderTimelinesPage('Switchboard conformance report', timelines));
        written.unshift(path);
      }
      return written;
    },
  };
}
