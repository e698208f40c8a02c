import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePath, writeOciImage } from "@wasm-shims/test-fixtures";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { shimBinaryDir } from "@wasm-shims/test-lab/conformance.ts";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { OtlpReceiver, type ReceivedSpan } from "@wasm-shims/test-lab/otlp-receiver.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";

/**
 * The real shim binary under containerd 1.6.20 with OTEL_EXPORTER_OTLP_ENDPOINT in containerd's
 * environment (which passes it to its shims): every span of a container's life reaches an OTLP
 * receiver in this process. containerd 1.6 sends no trace context over ttrpc; a call that does
 * is made here straight to the shim's socket.
 */
const Task = "containerd.task.v2.Task";
const image = "localhost/traces:1";
let receiver: OtlpReceiver;
let ctd: Containerd;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  ctd = await Containerd.start({
    shimDir: shimBinaryDir({ engine: "node" }),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
  });
  const tar = join(ctd.dir, "traces.tar");
  await writeOciImage(tar, {
    ref: image,
    os: "wasip1",
    architecture: "wasm",
    files: [{ path: "/sleep.wasm", source: fixturePath("sleep"), mode: 0o755 }],
  });
  await ctd.importImage(tar);
});

afterAll(async () => {
  await ctd?.stop();
  await receiver?.close();
});

const ctr = async (args: string[]) => {
  const r = await ctd.ctr(args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ctr ${args.join(" ")}: ${r.stderr}`);
  return r;
};

/** Runs a sleeping guest until it says it sleeps; `kill` ends it, then the task and container are removed. */
async function lifecycle(id: string, kill: () => Promise<unknown>) {
  const out = join(ctd.dir, `${id}.out`);
  await ctr([
    "run",
    "-d",
    "--log-uri",
    `file://${out}`,
    "--runtime",
    "io.containerd.node.v1",
    image,
    id,
    "/sleep.wasm",
    "60000",
    "sleeping",
  ]);
  // Before the runner's handler is in place, PID 1 ignores SIGTERM.
  await eventually(() => expect(readFileSync(out, "utf8")).toContain("sleeping"), 20_000);
  await kill();
  await eventually(
    async () => expect((await ctr(["task", "ls"])).stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+STOPPED`, "m")),
    20_000,
  );
  await ctr(["task", "rm", id]);
  await ctr(["container", "rm", id]);
}

describe("OpenTelemetry through containerd", () => {
  it("exports start, Create, Start, Kill, Delete and the guest's run as one trace, with the container's attributes", async () => {
    const id = `traced-${process.pid}`;
    await lifecycle(id, () => ctr(["task", "kill", id]));
    const names = ["shim start", `${Task}/Create`, `${Task}/Start`, "guest run", `${Task}/Kill`, `${Task}/Delete`];
    const spans = await receiver.waitFor(names, (s) => s.attributes["container.id"] === id);
    const start = spans["shim start"]!;
    expect(start.parentSpanId).toBe("");
    for (const name of names) {
      const span = spans[name]!;
      expect(span.traceId).toBe(start.traceId);
      expect({ name, ...span.attributes }).toMatchObject({
        name,
        "container.id": id,
        "containerd.namespace": ctd.namespace,
        "wasm.engine": "node",
        "container.image.name": image,
      });
      expect(span.resource["service.name"]).toBe("containerd-shim-node-v1");
    }
    for (const name of [`${Task}/Create`, `${Task}/Start`, `${Task}/Kill`, `${Task}/Delete`])
      expect(spans[name]!.parentSpanId).toBe(start.spanId);
    expect(spans["guest run"]!.parentSpanId).toBe(spans[`${Task}/Start`]!.spanId);
    expect(spans["guest run"]!.attributes["process.exit.code"]).toBe(143);
    expect(spans[`${Task}/Kill`]!.attributes["process.signal"]).toBe(15);
    // The run lasts from Start until the guest ended: after Kill was sent.
    expect(spans["guest run"]!.endNs).toBeGreaterThan(spans[`${Task}/Kill`]!.startNs);
  });

  it("takes the trace context from a ttrpc call's traceparent", async () => {
    const id = `traceparent-${process.pid}`;
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const caller = "00f067aa0ba902b7";
    await lifecycle(id, async () => {
      const address = readFileSync(
        join(ctd.dir, "state", "io.containerd.runtime.v2.task", ctd.namespace, id, "address"),
        "utf8",
      );
      const client = await TtrpcClient.connect(address);
      try {
        const kill = create(pb.KillRequestSchema, { id, signal: 15 });
        await client.call(Task, "Kill", toBinary(pb.KillRequestSchema, kill), {
          metadata: { traceparent: `00-${trace}-${caller}-01` },
        });
      } finally {
        client.close();
      }
    });
    const spans = await receiver.waitFor(
      [`${Task}/Kill`, `${Task}/Create`],
      (s: ReceivedSpan) => s.attributes["container.id"] === id,
    );
    expect(spans[`${Task}/Kill`]).toMatchObject({ traceId: trace, parentSpanId: caller });
    expect(spans[`${Task}/Create`]!.traceId).not.toBe(trace);
  });

  it("leaves nothing behind", async () => {
    // A daemon exits after containerd's Shutdown, which `container rm` does not wait for.
    await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  });
});
