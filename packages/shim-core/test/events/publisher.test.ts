import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ShimError } from "../../src/errors.ts";
import { TaskExitSchema } from "../../src/gen/containerd/events/task_pb.ts";
import * as wire from "../../src/gen/wire/containerd/events/task.ts";
import { EventPublisher } from "../../src/events/publisher.ts";
import { packEvent } from "../../src/events/sink.ts";
import type { EventPublisherOptions } from "../../src/events/publisher.ts";
import { Topic } from "../../src/events/topics.ts";
import { delay, removeTempDirs, tempSocketPath } from "../ttrpc/helpers.ts";
import { FakeContainerd } from "./fake-containerd.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  removeTempDirs();
});

async function setup(opts: Partial<EventPublisherOptions> = {}) {
  const sock = tempSocketPath();
  const fake = await FakeContainerd.start(sock);
  const logs: string[] = [];
  const publisher = new EventPublisher({
    ttrpcAddress: sock,
    namespace: "default",
    retryDelayMs: 5,
    log: (m) => logs.push(m),
    ...opts,
  });
  cleanups.push(
    () => fake.close(),
    () => publisher.close(),
  );
  return { sock, fake, publisher, logs };
}

const start = (pid: number) => packEvent(wire.TaskStartSchema, { containerId: "c1", pid });

describe("packEvent", () => {
  it("uses the bare full type name as the type URL", () => {
    const packed = packEvent(wire.TaskExitSchema, { containerId: "c1", id: "c1", pid: 28685, exitStatus: 3 });
    expect(packed.typeUrl).toBe("containerd.events.TaskExit");
    expect(fromBinary(TaskExitSchema, packed.value)).toMatchObject({ containerId: "c1", pid: 28685, exitStatus: 3 });
  });
});

describe("EventPublisher", () => {
  it("forwards an envelope with a non-zero timestamp, namespace, topic, bare Any and namespace metadata", async () => {
    const sock = tempSocketPath();
    const fake = await FakeContainerd.start(sock);
    const publisher = new EventPublisher({ ttrpcAddress: `unix://${sock}`, namespace: "k8s.io" });
    cleanups.push(
      () => fake.close(),
      () => publisher.close(),
    );
    const before = Date.now();
    publisher.publish(
      Topic.TaskExit,
      packEvent(wire.TaskExitSchema, { containerId: "c1", id: "c1", pid: 7, exitStatus: 3 }),
    );
    await publisher.flush(5000);
    const [r] = fake.received;
    expect(r!.envelope.namespace).toBe("k8s.io");
    expect(r!.envelope.topic).toBe("/tasks/exit");
    expect(r!.envelope.event?.typeUrl).toBe("containerd.events.TaskExit");
    expect(fromBinary(TaskExitSchema, r!.envelope.event!.value)).toMatchObject({
      containerId: "c1",
      pid: 7,
      exitStatus: 3,
    });
    const ts = timestampDate(r!.envelope.timestamp!).getTime();
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
    expect(r!.metadata.get("containerd-namespace-ttrpc")).toBe("k8s.io");
  });

  it("keeps publish order under load with exactly one Forward in flight", async () => {
    const { fake, publisher } = await setup();
    fake.behaviour = async (env) => delay(Number(env.topic.split("/")[2]) % 3);
    for (let i = 0; i < 300; i++) publisher.publish(`/load/${i}`, start(i));
    await publisher.flush(20_000);
    expect(fake.topics()).toEqual(Array.from({ length: 300 }, (_, i) => `/load/${i}`));
    expect(fake.maxInFlight).toBe(1);
  });

  it("retries after an error status without reordering, keeping the original timestamp", async () => {
    const { fake, publisher, logs } = await setup();
    fake.behaviour = async (_env, attempt) => {
      if (attempt <= 2) throw new ShimError(Code.UNAVAILABLE, "busy");
    };
    publisher.publish(Topic.TaskCreate, start(1));
    publisher.publish(Topic.TaskStart, start(1));
    await publisher.flush(5000);
    expect(fake.topics()).toEqual([Topic.TaskCreate, Topic.TaskStart]);
    expect(fake.attempts).toBe(4);
    expect(logs.filter((l) => l.includes("failed (attempt"))).toHaveLength(2);
  });

  it("drops an event after 5 failed attempts with a log line and moves on", async () => {
    const { fake, publisher, logs } = await setup();
    fake.behaviour = async (env) => {
      if (env.topic === Topic.TaskOOM) throw new ShimError(Code.INTERNAL, "nope");
    };
    publisher.publish(Topic.TaskOOM, start(1));
    publisher.publish(Topic.TaskExit, start(1));
    await publisher.flush(5000);
    expect(fake.topics()).toEqual([Topic.TaskExit]);
    expect(fake.attempts).toBe(6);
    expect(logs.some((l) => l.includes(`dropping ${Topic.TaskOOM} after 5 failed attempts`))).toBe(true);
  });

  it("reconnects when containerd restarts at the same path", async () => {
    const { sock, fake, publisher } = await setup({ retryDelayMs: 20 });
    publisher.publish("/a/1", start(1));
    await publisher.flush(5000);
    await fake.close();
    publisher.publish("/a/2", start(2));
    await delay(30); // at least one attempt fails while nothing listens
    const restarted = await FakeContainerd.start(sock);
    cleanups.push(() => restarted.close());
    publisher.publish("/a/3", start(3));
    await publisher.flush(5000);
    expect(fake.topics()).toEqual(["/a/1"]);
    expect(restarted.topics()).toEqual(["/a/2", "/a/3"]);
  });

  it("times out a hung Forward, reconnects and delivers it", async () => {
    const { fake, publisher } = await setup({ callTimeoutMs: 100 });
    let first: AbortSignal | undefined;
    let droppedBeforeRetry: boolean | undefined;
    fake.behaviour = async (_env, attempt, ctx) => {
      expect(ctx.timeoutNano).toBe(100_000_000n);
      if (attempt === 1) {
        first = ctx.signal;
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        throw new Error("abandoned");
      }
      // The server serves a connection's calls concurrently: a retry on the same connection would
      // arrive while the first call still hangs. Its signal aborts only when the connection goes.
      droppedBeforeRetry = first?.aborted;
    };
    publisher.publish(Topic.TaskPaused, start(1));
    await publisher.flush(5000);
    expect(fake.topics()).toEqual([Topic.TaskPaused]);
    expect(droppedBeforeRetry).toBe(true);
  });

  it("flush rejects on timeout while events are stuck; close drops them and ignores later publishes", async () => {
    const { fake, publisher, logs } = await setup({ retryDelayMs: 10_000 });
    fake.behaviour = async () => {
      throw new ShimError(Code.UNAVAILABLE, "down");
    };
    publisher.publish(Topic.TaskDelete, start(1));
    await expect(publisher.flush(50)).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    const flushing = publisher.flush(60_000);
    await publisher.close();
    await flushing;
    publisher.publish(Topic.TaskDelete, start(2));
    expect(logs.some((l) => l.includes("dropping 1 queued"))).toBe(true);
    expect(logs.some((l) => l.includes("publisher closed"))).toBe(true);
    expect(fake.attempts).toBe(1);
  });

  it("delivers an event published right after a flush resolved", async () => {
    const { fake, publisher } = await setup();
    publisher.publish("/a/1", start(1));
    await publisher.flush(5000);
    publisher.publish("/a/2", start(2));
    await publisher.flush(5000);
    expect(fake.topics()).toEqual(["/a/1", "/a/2"]);
  });

  it("flush resolves at once when nothing is queued", async () => {
    const { publisher } = await setup();
    await publisher.flush(1);
  });
});
