/**
 * Draws calls as one self-contained HTML page: a summary, then per call its facts, the verdict
 * table, and an SVG timeline (both voices as min/max waveforms on one axis, the model's turns,
 * marks and acks, clears, truncations, DTMF, gaps, latency, failed checks where they happened).
 * No scripts, fonts or anything fetched: inline CSS and SVG only. Every string from a trace, an
 * adapter or a check goes through {@link escapeHtml}.
 */
import { audioPeaks } from './audio.js';
import {
  LANES,
  type CallTimeline,
  type Lane,
  type PlacedAudio,
  type TimelineMarker,
  type TimelineSpan,
} from './model.js';

/** Escapes text for HTML text and (quoted) attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const esc = escapeHtml;

/** Pixel columns of a timeline: one per 10 ms, at least 600 and at most 3000 (a long call is downsampled). */
export function timelineColumns(durationMs: number): number {
  return Math.max(600, Math.min(3000, Math.round(durationMs / 10)));
}

const LEFT = 92;
const RIGHT = 16;
const LANE_HEIGHT: Record<Lane, number> = { checks: 26, caller: 84, model: 62, agent: 84, carrier: 66, bridge: 52 };
/** Room kept at the bottom of a lane (the carrier's rows of mark and ack ticks). */
const LANE_RESERVED: Partial<Record<Lane, number>> = { carrier: 20 };
const LANE_TITLE: Record<Lane, string> = {
  checks: 'failed checks',
  caller: 'caller',
  model: 'model',
  agent: 'agent (heard)',
  carrier: 'carrier',
  bridge: 'bridge',
};
/** Marker kinds drawn as plain ticks in one path (there may be thousands). */
const TICKS = new Set<TimelineMarker['kind']>(['mark', 'ack']);
const LABELLED = new Set<TimelineMarker['kind']>([
  'clear',
  'truncate',
  'cancel',
  'dtmf',
  'start',
  'stop',
  'error',
  'call_start',
  'call_end',
  'malformed',
  'hangup',
  'speech_started',
  'speech_stopped',
  'failure',
]);

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px 24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;margin:6px 0 12px;background:#fff}th,td{border:1px solid #d8dde6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f6;font-weight:600}td.status{font-weight:600;white-space:nowrap}
tr.pass td.status{color:#137333}tr.fail td{background:#fde8e8}tr.fail td.status{color:#b3261e}tr.na td.status{color:#6b7280}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0;font-size:13px}.facts dt{color:#5f6b7a}.facts dd{margin:0;word-break:break-all}
.scroll{overflow-x:auto;border:1px solid #d8dde6;background:#fff}
svg.timeline{display:block;font:11px system-ui,sans-serif}
.lane-bg{fill:#f6f8fb}.lane-bg.alt{fill:#fff}.lane-title{fill:#3c4657;font-weight:600}
.wave{fill:none;stroke-width:1}.wave.caller{stroke:#2563eb}.wave.agent{stroke:#c2410c}.midline{stroke:#cfd6e0}
.axis line{stroke:#9aa5b4}.axis text{fill:#5f6b7a}
.span.turn{fill:#dbe7ff;stroke:#6b8fd6}.span.turn.cancelled{fill:#ffe2d5;stroke:#d97a4a}.span.speech{fill:#2563eb;opacity:.12}
.span.gap{fill:#9ca3af;opacity:.35}.span.pause{fill:#a855f7;opacity:.18}.span.latency{fill:#16a34a;opacity:.45}.span.discarded{fill:#c2410c;opacity:.15}.span.injected{fill:#0d9488;opacity:.3}
.span-label{fill:#1d2330}.marker line{stroke-width:1.5}.marker text{fill:#1d2330}
.k-clear line{stroke:#dc2626}.k-truncate line{stroke:#9333ea}.k-cancel line{stroke:#ea580c}.k-dtmf line{stroke:#0891b2}
.k-start line,.k-stop line,.k-call_start line,.k-call_end line,.k-hangup line{stroke:#374151}.k-error line,.k-malformed line{stroke:#b91c1c;stroke-dasharray:2 2}
.k-speech_started line,.k-speech_stopped line{stroke:#2563eb}.k-event line{stroke:#6b7280}
.ticks.mark{stroke:#6b7280}.ticks.ack{stroke:#16a34a}
.failure line{stroke:#dc2626;stroke-width:2}.failure rect{fill:#dc2626}.failure text{fill:#fff;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:6px 0 18px;color:#3c4657}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.untimed{color:#b3261e;font-size:13px}
`;

/** The whole page for these calls. */
export function renderTimelinesPage(title: string, timelines: CallTimeline[]): string {
  const summary = timelines
    .map((t, i) => {
      const count = (s: string) => t.verdicts.filter((v) => v.status === s).length;
      const cls = t.verdicts.length === 0 ? 'na' : count('fail') > 0 ? 'fail' : 'pass';
      const verdict =
        t.verdicts.length === 0 ? 'not checked' : count('fail') > 0 ? `${count('fail')} failed` : 'passed';
      const checks =
        t.verdicts.length === 0
          ? 'a recording: drawn, not replayed'
          : `${count('pass')} pass · ${count('fail')} fail · ${count('n/a')} n/a`;
      return `<tr class="${cls}"><td><a href="#call-${i}">${esc(t.adapter)}</a></td><td>${esc(t.trace)}</td><td>${esc(t.turnDetection)}</td><td class="status">${verdict}</td><td>${checks}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<table class="summary"><thead><tr><th>adapter</th><th>trace</th><th>turn detection</th><th>verdict</th><th>checks</th></tr></thead><tbody>
${summary}
</tbody></table>
${LEGEND}
${timelines.map(renderCall).join('\n')}
</body></html>
`;
}

const LEGEND = `<div class="legend">${[
  ['#2563eb', 'caller audio / model VAD speech'],
  ['#c2410c', 'agent audio as heard'],
  ['#dbe7ff', 'model turn'],
  ['#ffe2d5', 'cancelled turn'],
  ['#dc2626', 'clear / failed check'],
  ['#9333ea', 'truncate'],
  ['#ea580c', 'cancel'],
  ['#0891b2', 'DTMF'],
  ['#16a34a', 'latency / acks'],
  ['#6b7280', 'marks'],
  ['#9ca3af', 'timestamp gap'],
  ['#a855f7', 'caller paused'],
  ['#0d9488', 'injected audio (not the model)'],
]
  .map(([colour, label]) => `<span><i style="background:${colour}"></i>${label}</span>`)
  .join('')}</div>`;

function renderCall(t: CallTimeline, index: number): string {
  const facts = t.facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  const rows = t.verdicts
    .map((v) => {
      const failure = t.failures.find((f) => f.id === v.id);
      const where = failure
        ? failure.at === undefined
          ? ' <span class="untimed">(no moment: judged over the whole call)</span>'
          : ` <a href="#fail-${index}-${esc(v.id)}">at ${Math.round(failure.at)} ms</a>`
        : '';
      const cls = v.status === 'n/a' ? 'na' : v.status;
      return `<tr class="${cls}" data-check="${esc(v.id)}"><td>${esc(v.id)}</td><td>${esc(v.title)}</td><td class="status">${v.status === 'fail' ? 'FAIL' : esc(v.status)}</td><td>${esc(v.detail)}${where}</td></tr>`;
    })
    .join('\n');
  return `<section class="call" id="call-${index}" data-adapter="${esc(t.adapter)}" data-trace="${esc(t.trace)}">
<h2>${esc(t.title)}</h2>
<dl class="facts">${facts}</dl>
${t.verdicts.length > 0 ? `<table class="verdicts"><thead><tr><th>check</th><th>what</th><th>verdict</th><th>detail</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : ''}
<div class="scroll">${renderTimelineSvg(t, index)}</div>
</section>`;
}

/** The SVG timeline of one call. */
export function renderTimelineSvg(t: CallTimeline, index = 0): string {
  const columns = timelineColumns(t.durationMs);
  const width = LEFT + columns + RIGHT;
  const msToX = (ms: number) => LEFT + (Math.max(0, Math.min(t.durationMs, ms)) / Math.max(1, t.durationMs)) * columns;
  const tops = new Map<Lane, number>();
  let y = 0;
  for (const lane of LANES) {
    tops.set(lane, y);
    y += LANE_HEIGHT[lane];
  }
  const axisY = y;
  const height = axisY + 24;
  const out: string[] = [];
  out.push(
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of ${esc(t.title)}">`,
  );
  LANES.forEach((lane, i) => {
    const top = tops.get(lane)!;
    out.push(
      `<g class="lane" data-lane="${lane}"><rect class="lane-bg${i % 2 ? ' alt' : ''}" x="0" y="${top}" width="${width}" height="${LANE_HEIGHT[lane]}"/><text class="lane-title" x="6" y="${top + 15}">${LANE_TITLE[lane]}</text></g>`,
    );
  });
  // Spans under everything else.
  for (const span of t.spans) out.push(renderSpan(span, tops.get(span.lane)!, msToX));
  out.push(renderWave('caller', t.caller, t.durationMs, columns, tops.get('caller')!, LANE_HEIGHT.caller));
  out.push(renderWave('agent', t.agent, t.durationMs, columns, tops.get('agent')!, LANE_HEIGHT.agent));
  // Marks and acks: ticks, one path per kind.
  for (const kind of ['mark', 'ack'] as const) {
    const list = t.markers.filter((m) => m.kind === kind);
    if (list.length === 0) continue;
    const top = tops.get('carrier')! + LANE_HEIGHT.carrier - (kind === 'mark' ? 19 : 10);
    const d = list.map((m) => `M${msToX(m.at).toFixed(1)} ${top}v8`).join('');
    out.push(
      `<path class="ticks ${kind}" data-kind="${kind}" data-count="${list.length}" d="${d}"><title>${list.length} ${kind === 'mark' ? 'marks sent by the bridge' : 'acknowledgements from the carrier'}</title></path>`,
    );
  }
  const placer = new Map<Lane, LabelRows>();
  for (const marker of t.markers) {
    if (TICKS.has(marker.kind)) continue;
    let rows = placer.get(marker.lane);
    if (!rows)
      placer.set(
        marker.lane,
        (rows = new LabelRows(
          Math.max(1, Math.floor((LANE_HEIGHT[marker.lane] - 22 - (LANE_RESERVED[marker.lane] ?? 0)) / 11)),
          LEFT + columns,
        )),
      );
    out.push(renderMarker(marker, tops.get(marker.lane)!, LANE_HEIGHT[marker.lane], msToX, rows));
  }
  // Failed checks: a flag in their lane and a line through every lane.
  t.failures.forEach((failure, k) => {
    if (failure.at === undefined) return;
    const x = msToX(failure.at).toFixed(1);
    const label = esc(failure.id);
    const top = tops.get('checks')!;
    out.push(
      `<g class="failure" id="fail-${index}-${label}" data-check="${label}" data-at="${Math.round(failure.at)}"><title>${label} failed: ${esc(failure.detail)}</title><line x1="${x}" y1="${top}" x2="${x}" y2="${axisY}"/><rect x="${x}" y="${top + 3 + (k % 2) * 2}" width="${failure.id.length * 6.4 + 8}" height="16" rx="2"/><text x="${Number(x) + 4}" y="${top + 15 + (k % 2) * 2}">${label}</text></g>`,
    );
  });
  out.push(renderAxis(t.durationMs, columns, axisY, msToX, width));
  out.push('</svg>');
  return out.join('\n');
}

function renderWave(
  track: 'caller' | 'agent',
  audio: PlacedAudio,
  durationMs: number,
  columns: number,
  top: number,
  height: number,
): string {
  const { min, max } = audioPeaks(audio, durationMs, columns);
  const mid = top + height / 2 + 6;
  const half = height / 2 - 10;
  let d = '';
  let drawn = 0;
  for (let c = 0; c < columns; c++) {
    if (max[c]! - min[c]! < 0.002) continue;
    const y1 = mid - max[c]! * half;
    const y2 = mid - min[c]! * half;
    d += `M${LEFT + c + 0.5} ${y1.toFixed(1)}V${Math.max(y2, y1 + 0.6).toFixed(1)}`;
    drawn++;
  }
  return `<line class="midline" x1="${LEFT}" x2="${LEFT + columns}" y1="${mid}" y2="${mid}"/><path class="wave ${track}" data-track="${track}" data-columns="${drawn}" d="${d}"/>`;
}

function renderSpan(span: TimelineSpan, top: number, msToX: (ms: number) => number): string {
  const x1 = msToX(span.from);
  const x2 = Math.max(x1 + 1, msToX(span.to));
  const lane = LANE_HEIGHT[span.lane];
  const [y, h] =
    span.kind === 'turn' ? [top + 20, 16] : span.kind === 'latency' ? [top + lane - 14, 10] : [top + 18, lane - 20];
  const cls = `span ${span.kind}${span.status === 'cancelled' ? ' cancelled' : ''}`;
  // Latency is labelled however short (its figure is the point); other spans where the label fits.
  const label =
    span.kind === 'latency' || (x2 - x1 > span.label.length * 5.6 + 6 && (span.kind === 'turn' || span.kind === 'gap'))
      ? `<text class="span-label" x="${(x1 + 3).toFixed(1)}" y="${y + (span.kind === 'latency' ? 9 : 12)}">${esc(span.label)}</text>`
      : '';
  return `<g class="span-g" data-kind="${span.kind}"><title>${esc(span.label)}${span.detail ? ` — ${esc(span.detail)}` : ''}</title><rect class="${cls}" x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${h}"/>${label}</g>`;
}

/**
 * Where markers' labels go in one lane: the first row whose last label ends before this one
 * starts; none when every row is taken there (the marker's tooltip still says it). Near the right
 * edge a label ends at its marker.
 */
class LabelRows {
  readonly #ends: number[];
  readonly #right: number;
  constructor(rows: number, right: number) {
    this.#ends = new Array<number>(rows).fill(-Infinity);
    this.#right = right;
  }
  place(x: number, text: string): { row: number; x: number; end: boolean } | undefined {
    const width = text.length * 5.8 + 6;
    const end = x + width > this.#right;
    const [from, to] = end ? [x - width, x] : [x, x + width];
    const row = this.#ends.findIndex((e) => e <= from);
    if (row < 0) return undefined;
    this.#ends[row] = to;
    return { row, x: end ? x - 3 : x + 3, end };
  }
}

function renderMarker(
  marker: TimelineMarker,
  top: number,
  height: number,
  msToX: (ms: number) => number,
  rows: LabelRows,
): string {
  const x = msToX(marker.at).toFixed(1);
  const at = LABELLED.has(marker.kind) ? rows.place(Number(x), marker.label) : undefined;
  const label = at
    ? `<text x="${at.x.toFixed(1)}"${at.end ? ' text-anchor="end"' : ''} y="${top + 28 + at.row * 11}">${esc(marker.label)}</text>`
    : '';
  return `<g class="marker k-${marker.kind}" data-kind="${marker.kind}" data-lane="${marker.lane}" data-at="${Math.round(marker.at)}"><title>${esc(marker.label)} at ${Math.round(marker.at)} ms${marker.detail ? ` — ${esc(marker.detail)}` : ''}</title><line x1="${x}" x2="${x}" y1="${top + 18}" y2="${top + height - 2}"/>${label}</g>`;
}

function renderAxis(
  durationMs: number,
  columns: number,
  y: number,
  msToX: (ms: number) => number,
  width: number,
): string {
  const steps = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000];
  const step = steps.find((s) => (s / Math.max(1, durationMs)) * columns >= 70) ?? 60_000;
  const ticks: string[] = [];
  for (let ms = 0; ms <= durationMs; ms += step) {
    const x = msToX(ms).toFixed(1);
    ticks.push(
      `<line x1="${x}" x2="${x}" y1="${y}" y2="${y + 5}"/><text x="${x}" y="${y + 17}" text-anchor="middle">${ms >= 1000 ? `${(ms / 1000).toFixed(step < 1000 ? 1 : 0)} s` : `${ms} ms`}</text>`,
    );
  }
  return `<g class="axis"><line x1="${LEFT}" x2="${width - RIGHT}" y1="${y}" y2="${y}"/>${ticks.join('')}</g>`;
}
