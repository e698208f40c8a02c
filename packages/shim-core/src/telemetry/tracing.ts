/**
 * OpenTelemetry for the shim, off unless the standard OTLP endpoint variables are set (in
 * containerd's environment, which it passes to its shims). This file imports nothing of the SDK:
 * only when tracing is on does `loadTracing` import it (otel.ts), so a shim without tracing pays
 * one look at its environment and nothing else.
 */

/** Span attributes every span of a container carries. */
export const ATTR = {
  containerId: "container.id",
  image: "container.image.name",
  runtime: "container.runtime",
  namespace: "containerd.namespace",
  engine: "wasm.engine",
  execId: "containerd.exec.id",
  exitStatus: "process.exit.code",
} as const;

export type Attributes = Record<string, string | number | boolean>;

/** A W3C trace context, as `traceparent` (and `tracestate`) carry it. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface SpanHandle {
  /** This span as a parent for others, in this process or another. */
  readonly context: TraceContext;
  setAttributes(attributes: Attributes): void;
  /** Ends the span; an error marks it failed, with the error's message. */
  end(error?: unknown): void;
}

export interface Tracing {
  startSpan(name: string, attributes: Attributes, parent?: TraceContext, kind?: "server" | "internal"): SpanHandle;
  /** Exports what is pending, giving up after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

/** Whether spans go anywhere: an OTLP endpoint is set, and the SDK and trace export are not switched off. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  if (env.OTEL_TRACES_EXPORTER?.split(",").every((e) => e.trim() === "none")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** The SDK, loaded now: call only when tracingEnabled(). */
export async function loadTracing(service: string, version: string): Promise<Tracing> {
  const { createTracing } = await import("./otel.ts");
  return createTracing(service, version);
}

/** The W3C trace context of a ttrpc request's metadata (keys are lowercased), as containerd 1.7+ sends it. */
export function traceContextOf(metadata: ReadonlyMap<string, string>): TraceContext | undefined {
  const traceparent = metadata.get("traceparent");
  if (!traceparent) return undefined;
  const tracestate = metadata.get("tracestate");
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** Where `start` leaves its span's context in the bundle, for the daemon's spans of the same container. */
export const TRACE_CONTEXT_FILE = "trace-context.json";
