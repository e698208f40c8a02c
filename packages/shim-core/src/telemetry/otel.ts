import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { Attributes, SpanHandle, TraceContext, Tracing } from "./tracing.ts";

const propagator = new W3CTraceContextPropagator();
const getter = {
  get: (carrier: TraceContext, key: string) => (carrier as unknown as Record<string, string | undefined>)[key],
  keys: (carrier: TraceContext) => Object.keys(carrier),
};

/**
 * The OpenTelemetry JS SDK: spans batched and exported as OTLP over HTTP (JSON) to the endpoint
 * the standard variables name (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT
 * + /v1/traces; headers and timeout from theirs too). Parents are passed explicitly: the shim
 * has no ambient context to keep.
 */
export function createTracing(service: string, version: string): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": process.env.OTEL_SERVICE_NAME || service,
      "service.version": version,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  const tracer = provider.getTracer(service, version);
  return {
    startSpan(name, attributes, parent, kind = "internal") {
      const parentContext = parent ? propagator.extract(ROOT_CONTEXT, parent, getter) : ROOT_CONTEXT;
      const span = tracer.startSpan(
        name,
        { attributes, kind: kind === "server" ? SpanKind.SERVER : SpanKind.INTERNAL },
        parentContext,
      );
      return handle(span);
    },
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([provider.forceFlush().catch(() => undefined), timeout]);
      clearTimeout(timer);
    },
  };
}

function handle(span: Span): SpanHandle {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(context.active(), span), carrier, { set: (c, k, v) => (c[k] = v) });
  return {
    context: carrier.tracestate
      ? { traceparent: carrier.traceparent!, tracestate: carrier.tracestate }
      : { traceparent: carrier.traceparent! },
    setAttributes: (attributes: Attributes) => void span.setAttributes(attributes),
    end(error?: unknown) {
      if (error !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      }
      span.end();
    },
  };
}
