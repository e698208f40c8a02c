import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { eventually } from "./eventually.ts";

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** The resource's attributes (service.name, …). */
  resource: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  startNs: bigint;
  endNs: bigint;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value?: AnyValue };
type JsonSpan = {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind?: number;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
};
type ExportRequest = {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
};

function attributes(list: KeyValue[] = []): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value = {} } of list) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

/**
 * An OTLP/HTTP trace receiver (JSON encoding, as the OpenTelemetry JS exporter sends it) on
 * 127.0.0.1 in the test process: point OTEL_EXPORTER_OTLP_ENDPOINT at `endpoint`.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          if (req.method !== "POST" || req.url !== "/v1/traces") throw new Error(`unexpected ${req.method} ${req.url}`);
          const raw = Buffer.concat(chunks);
          const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
          if (!String(req.headers["content-type"]).startsWith("application/json"))
            throw new Error(`unexpected content-type ${req.headers["content-type"]}`);
          this.#collect(JSON.parse(body.toString("utf8")) as ExportRequest);
          res.writeHead(200, { "content-type": "application/json" }).end("{}");
        } catch (err) {
          res.writeHead(400).end((err as Error).message);
        }
      });
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.#server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  /** The value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Waits until spans named `names` (each at least once) have arrived and returns the first of each. */
  async waitFor(
    names: readonly string[],
    filter: (s: ReceivedSpan) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<Record<string, ReceivedSpan>> {
    return eventually(() => {
      const found: Record<string, ReceivedSpan> = {};
      for (const name of names) {
        const span = this.spans.find((s) => s.name === name && filter(s));
        if (!span)
          throw new Error(`no span ${name} yet; received: ${this.spans.map((s) => s.name).join(", ") || "none"}`);
        found[name] = span;
      }
      return found;
    }, timeoutMs);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #collect(request: ExportRequest): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            name: s.name,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            kind: s.kind ?? 0,
            attributes: attributes(s.attributes),
            resource,
            status: s.status ?? {},
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
          });
        }
      }
    }
  }
}
