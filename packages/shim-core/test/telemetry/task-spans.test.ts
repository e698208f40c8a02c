import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { silentLogger } from "../../src/log.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import { tracedStart } from "../../src/telemetry/start-span.ts";
import { traceTaskService } from "../../src/telemetry/task-spans.ts";
import { loadTracing, TRACE_CONTEXT_FILE, tracingEnabled, type Tracing } from "../../src/telemetry/tracing.ts";
import { OtlpReceiver } from "@wasm-shims/test-lab/otlp-receiver.ts";
import type { CallContext } from "../../src/ttrpc/handler.ts";
import { RuncService } from "../task/runc-service.ts";

let receiver: OtlpReceiver;
let tracing: Tracing;
let runc: RuncService;
const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  tracing = await loadTracing("containerd-shim-test-v1", "1.2.3");
  runc = new RuncService();
});

afterAll(async () => {
  if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
  await runc?.close();
  await receiver?.close();
});

const ctx = (method: string, metadata: Record<string, string> = {}): CallContext => ({
  service: "containerd.task.v2.Task",
  method,
  metadata: new Map(Object.entries(metadata)),
  timeoutNano: 0n,
  signal: new AbortController().signal,
});

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER = "b7ad6b7169203331";
const Task = "containerd.task.v2.Task";

describe("tracingEnabled", () => {
  it("is on only with an OTLP endpoint, and off when the SDK or trace export is switched off", () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318" })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x:4318/v1/traces" })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_TRACES_EXPORTER: "none" })).toBe(false);
  });
});

describe("tracedStart", () => {
  it("off, only runs start; on, leaves its span's context in the bundle for the daemon", async () => {
    const bundle = mkdtempSync(join(tmpdir(), "traced-start-"));
    try {
      const flags = parseFlags(["-namespace", "ns", "-id", "c1", "-bundle", bundle, "start"]);
      let ran = 0;
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      await tracedStart(flags, "test", "1", async () => void ran++);
      expect(existsSync(join(bundle, TRACE_CONTEXT_FILE))).toBe(false);
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      await tracedStart(flags, "test", "1", async () => void ran++);
      expect(ran).toBe(2);
      const written = JSON.parse(readFileSync(join(bundle, TRACE_CONTEXT_FILE), "utf8")) as { traceparent: string };
      const { "shim start": span } = await receiver.waitFor(
        ["shim start"],
        (s) => s.attributes["container.id"] === "c1",
      );
      expect(written.traceparent).toBe(`00-${span!.traceId}-${span!.spanId}-01`);
    } finally {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      rmSync(bundle, { recursive: true, force: true });
    }
  });
});

describe("traceTaskService", () => {
  it("spans Create, Start, Kill, Delete and the run; a traceparent in the ttrpc metadata is the parent", async () => {
    const svc = traceTaskService(runc.svc, tracing, { engine: "test", namespace: "tracing-ns", log: silentLogger });
    const { id, req } = runc.request(
      ["/bin/busybox", "sleep", "100"],
      (spec) => (spec.annotations = { "io.kubernetes.cri.image-name": "localhost/app:1" }),
    );
    await svc.create(req, ctx("Create", { traceparent: `00-${TRACE}-${CALLER}-01` }));
    await svc.start(create(pb.StartRequestSchema, { id }), ctx("Start"));
    await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }), ctx("Kill"));
    await runc.svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.delete(create(pb.DeleteRequestSchema, { id }), ctx("Delete"));
    await tracing.flush(5000);

    const mine = (s: { attributes: Record<string, unknown> }) => s.attributes["container.id"] === id;
    const spans = await receiver.waitFor(
      [`${Task}/Create`, `${Task}/Start`, `${Task}/Kill`, `${Task}/Delete`, "guest run"],
      mine,
    );
    const createSpan = spans[`${Task}/Create`]!;
    expect(createSpan).toMatchObject({ traceId: TRACE, parentSpanId: CALLER, kind: 2 });
    expect(createSpan.attributes).toMatchObject({
      "container.id": id,
      "containerd.namespace": "tracing-ns",
      "wasm.engine": "test",
      "container.image.name": "localhost/app:1",
      "rpc.system": "ttrpc",
      "rpc.method": "Create",
    });
    expect(createSpan.resource).toMatchObject({
      "service.name": "containerd-shim-test-v1",
      "service.version": "1.2.3",
    });
    // Calls without a context join the container's trace under Create; the run is Start's child.
    for (const name of ["Start", "Kill", "Delete"])
      expect(spans[`${Task}/${name}`]).toMatchObject({ traceId: TRACE, parentSpanId: createSpan.spanId });
    expect(spans["guest run"]).toMatchObject({ traceId: TRACE, parentSpanId: spans[`${Task}/Start`]!.spanId });
    expect(spans["guest run"]!.attributes).toMatchObject({
      "container.image.name": "localhost/app:1",
      "process.exit.code": 137,
    });
    expect(spans[`${Task}/Kill`]!.attributes).toMatchObject({ "process.signal": 9 });
    expect(spans["guest run"]!.endNs).toBeGreaterThanOrEqual(spans[`${Task}/Start`]!.endNs);
  });

  it("parents Create under start's span when containerd sends no context, and marks a failed call", async () => {
    const svc = traceTaskService(runc.svc, tracing, { engine: "test", namespace: "tracing-ns", log: silentLogger });
    const { id, bundle, req } = runc.request(["/bin/busybox", "true"]);
    const startSpan = tracing.startSpan("shim start", { "container.id": id });
    writeFileSync(join(bundle, TRACE_CONTEXT_FILE), JSON.stringify(startSpan.context));
    startSpan.end();
    await svc.create(req, ctx("Create"));
    await expect(svc.create(req, ctx("Create"))).rejects.toThrow(/already exists/);
    await svc.delete(create(pb.DeleteRequestSchema, { id }), ctx("Delete"));
    await tracing.flush(5000);

    const mine = (s: { attributes: Record<string, unknown> }) => s.attributes["container.id"] === id;
    const spans = await receiver.waitFor(["shim start", `${Task}/Create`, `${Task}/Delete`], mine);
    const start = spans["shim start"]!;
    const creates = receiver.spans.filter((s) => mine(s) && s.name === `${Task}/Create`);
    expect(creates).toHaveLength(2);
    for (const c of creates) expect(c).toMatchObject({ traceId: start.traceId, parentSpanId: start.spanId });
    expect(creates.map((c) => c.status.code ?? 0).sort()).toEqual([0, 2]);
    expect(creates.find((c) => c.status.code === 2)!.status.message).toMatch(/already exists/);
    expect(spans[`${Task}/Delete`]).toMatchObject({ traceId: start.traceId, parentSpanId: start.spanId });
  });
});
