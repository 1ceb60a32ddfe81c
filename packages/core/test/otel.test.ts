/**
 * `@switchboard/core/otel` against the OpenTelemetry metrics SDK and its in-memory exporter: a
 * call with one lost frame, one late frame, a reordered one and an underrun is counted, and its
 * quality recorded at its end, with the carrier and end reason as the only attributes.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram as HistogramPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { until, wire } from '@switchboard/conformance/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallInstruments, instrumentCall, MAX_END_REASONS } from '../src/otel/index.js';
import type { CallQualityReport } from '../src/index.js';
import { useCoreTransport } from './helpers/transport.js';

const rig = useCoreTransport({ beforeEach, afterEach });
const WAIT_MS = 30_000;

let exporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let provider: MeterProvider;

beforeEach(() => {
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported when the test flushes, never on a timer.
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  provider = new MeterProvider({ readers: [reader] });
});

afterEach(async () => {
  await provider.shutdown();
});

async function collected(): Promise<Map<string, MetricData>> {
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of exporter.getMetrics())
    for (const scope of resource.scopeMetrics)
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}

const sum = (metric: MetricData | undefined) =>
  (metric?.dataPoints as Array<DataPoint<number>> | undefined)?.reduce((total, p) => total + p.value, 0) ?? 0;
const histogram = (metric: MetricData | undefined) =>
  (metric?.dataPoints as Array<DataPoint<HistogramPoint>> | undefined)?.[0]?.value;

describe('instrumentCall', () => {
  it('counts the call and, at its end, records its frames, underruns, jitter, delays and MOS', async () => {
    const t = await rig.connected({ playbackAck: 'mark' });
    instrumentCall(t, { meterProvider: provider });
    // Frames 0..9, 20 ms apart: 4 comes after 5, 7 never comes (given up), 7 then arrives late.
    const order = [0, 1, 2, 3, 5, 4, 6, 8, 9, 10, 11, 12, 13, 14, 7];
    order.forEach((seq, k) => {
      if (k > 0) rig.clock.advance(20);
      rig.carrier.deliver(wire.audio(new Uint8Array(160).fill(seq + 1), seq, 20 * seq));
    });
    // A turn: speech ends, 300 ms later the reply's first audio; then a pause the carrier runs dry in.
    const stopped = new Promise((resolve) => t.once('input_audio_buffer.speech_stopped', resolve));
    rig.server.send({ type: 'input_audio_buffer.speech_stopped', item_id: 'u1', audio_end_ms: 200 });
    await stopped;
    rig.clock.advance(300);
    rig.server.respond('resp_1', 'item_1', [new Uint8Array(800).fill(1)], { done: false });
    await until(() => t.metrics.audioBytesOut === 800, WAIT_MS);
    rig.clock.advance(250);
    rig.server.delta('resp_1', 'item_1', new Uint8Array(800).fill(2));
    await until(() => t.metrics.audioBytesOut === 1600, WAIT_MS);

    let metrics = await collected();
    expect(sum(metrics.get('switchboard.calls'))).toBe(1);
    expect(sum(metrics.get('switchboard.calls.active'))).toBe(1);
    expect(metrics.get('switchboard.calls')!.dataPoints[0]!.attributes).toEqual({
      'switchboard.carrier': 'testcarrier',
    });
    // Nothing of the call's quality before it ends.
    expect(metrics.has('switchboard.call.mos')).toBe(false);

    const ended = new Promise<CallQualityReport | undefined>((resolve) =>
      t.once('call_end', (e) => resolve(e.quality)),
    );
    rig.carrier.deliver(wire.stop());
    const report = (await ended)!;
    metrics = await collected();
    const attributes = { 'switchboard.carrier': 'testcarrier', 'switchboard.end_reason': 'stop' };
    expect(sum(metrics.get('switchboard.calls.active'))).toBe(0);
    expect(sum(metrics.get('switchboard.call.ends'))).toBe(1);
    expect(metrics.get('switchboard.call.ends')!.dataPoints[0]!.attributes).toEqual(attributes);
    expect(sum(metrics.get('switchboard.call.frames.lost'))).toBe(1);
    expect(sum(metrics.get('switchboard.call.frames.late'))).toBe(1);
    expect(sum(metrics.get('switchboard.call.frames.reordered'))).toBe(2);
    expect(sum(metrics.get('switchboard.call.underruns'))).toBe(1);
    expect(sum(metrics.get('switchboard.call.gaps.padded'))).toBeCloseTo(0.02, 9);
    expect(histogram(metrics.get('switchboard.call.mos'))).toMatchObject({ count: 1, sum: report.mos.score });
    expect(histogram(metrics.get('switchboard.call.jitter'))).toMatchObject({
      count: 1,
      sum: report.inbound.jitter.mean / 1000,
    });
    expect(histogram(metrics.get('switchboard.call.forwarding_delay'))).toMatchObject({
      count: 1,
      sum: report.forwarding.delayMs.p95 / 1000,
    });
    expect(histogram(metrics.get('switchboard.call.response_latency'))).toMatchObject({ count: 1, sum: 0.3 });
    expect(metrics.get('switchboard.call.mos')!.dataPoints[0]!.attributes).toEqual(attributes);
    expect(metrics.get('switchboard.call.response_latency')!.descriptor.unit).toBe('s');
  });

  it('records on the global MeterProvider when given none, and stops watching when told', async () => {
    const { metrics: api } = await import('@opentelemetry/api');
    api.setGlobalMeterProvider(provider);
    try {
      const t = await rig.connected();
      const stop = instrumentCall(t, { carrier: 'twilio' });
      stop();
      rig.carrier.deliver(wire.stop());
      const metrics = await collected();
      expect(sum(metrics.get('switchboard.calls'))).toBe(1);
      expect(metrics.get('switchboard.calls')!.dataPoints[0]!.attributes).toEqual({ 'switchboard.carrier': 'twilio' });
      expect(sum(metrics.get('switchboard.calls.active'))).toBe(0);
      expect(metrics.has('switchboard.call.ends')).toBe(false);
    } finally {
      api.disable();
    }
  });
});

describe('CallInstruments', () => {
  it('keeps the end reasons a carrier names to a bounded set', async () => {
    const instruments = new CallInstruments({ meterProvider: provider });
    for (let i = 0; i < MAX_END_REASONS + 10; i++) {
      instruments.started('websocket');
      instruments.ended('websocket', `peer said ${i}`, undefined);
    }
    const ends = (await collected()).get('switchboard.call.ends')!;
    expect(ends.dataPoints).toHaveLength(MAX_END_REASONS + 1);
    const other = ends.dataPoints.find((p) => p.attributes['switchboard.end_reason'] === 'other');
    expect((other as DataPoint<number>).value).toBe(10);
  });
});
