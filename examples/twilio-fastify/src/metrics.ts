/**
 * Prometheus metrics for the example server: an OpenTelemetry MeterProvider whose only reader is
 * the Prometheus exporter (no port of its own: the server serves the text on its `/metrics` route),
 * and every call instrumented with `@switchboard/core/otel`.
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { TelephonyRealtimeTransport } from '@switchboard/core';
import { instrumentCall } from '@switchboard/core/otel';

/** The Prometheus text exposition format's content type. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class PrometheusMetrics {
  readonly #exporter = new PrometheusExporter({ preventServerStart: true });
  readonly #serializer = new PrometheusSerializer();
  readonly meterProvider = new MeterProvider({ readers: [this.#exporter] });

  /** Counts the call, and records its quality when it ends. */
  instrument(transport: TelephonyRealtimeTransport): void {
    instrumentCall(transport, { meterProvider: this.meterProvider });
  }

  /** The metrics as a Prometheus scrape reads them. */
  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.#exporter.collect();
    return this.#serializer.serialize(resourceMetrics);
  }

  shutdown(): Promise<void> {
    return this.meterProvider.shutdown();
  }
}
