/**
 * One fuzzing campaign against the real shim daemon: bursts of random, mutated and broken requests
 * over several connections, each burst followed by good requests that must still work (Connect and
 * State of a long-running container, and a full Create/Start/Wait/Delete), and at the end a check
 * that nothing leaked: memory, fds, child processes, mounts, runc state, cgroups.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MessageType } from "@wasm-shims/shim-core/src/ttrpc/frame.ts";
import * as pb from "@wasm-shims/shim-core/src/gen/containerd/task/v2/shim_pb.ts";
import { Status } from "@wasm-shims/shim-core/src/gen/containerd/types/task_pb.ts";
import { cleanup, killTree } from "./cleanup.ts";
import { TASK, TaskClient, lifecycle, makeBundle, removeContainer, workspace, type Bundle } from "./containers.ts";
import { startDaemon, type Daemon } from "./daemon.ts";
import { Findings, hex, type Finding } from "./findings.ts";
import { frame, randomSession, requestEnvelope } from "./frames.ts";
import { randomRequest } from "./messages.ts";
import { makeCorpus, resetPool } from "./pool.ts";
import { cgroupsUnder, escapedMounts, filesUnder, leaksBetween, rssSampler, sample, type Memory } from "./probe.ts";
import { mutateMessage } from "./protowire.ts";
import { Rng } from "./rng.ts";
import { RawConnection } from "./wire.ts";

export interface CampaignOptions {
  binary: string;
  /** The X of containerd-shim-X-v1: runc keeps its state in /run/containerd/X/<namespace>. */
  engine: string;
  seconds: number;
  seed: number;
  /** Actions per burst (default 200). */
  burst?: number;
  unshare?: boolean;
  /** Relative weights of typed requests, raw frame sessions and clients that never read (6:3:1). */
  mix?: { typed?: number; raw?: number; slow?: number };
  log?: (msg: string) => void;
}

export interface CampaignReport {
  seed: number;
  seconds: number;
  bursts: number;
  requests: number;
  rawSessions: number;
  requestsPerSecond: number;
  lifecycles: number;
  answers: Record<string, number>;
  /**
   * The daemon's RSS, sampled every 250 ms. V8 collects large buffers lazily and glibc keeps what
   * was freed, so RSS climbs to a high-water mark set by the heaviest burst and swings below it;
   * a leak shows as a floor in the last third above everything the first half reached.
   */
  rss: { startKiB: number; endKiB: number } & Memory;
  fds: { start: number; end: number };
  findings: Finding[];
  leaks: string[];
  daemonExit: string;
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const log = opts.log ?? (() => {});
  const rng = new Rng(opts.seed);
  const dir = mkdtempSync(join(tmpdir(), "fuzz-"));
  const namespace = `fuzz${process.pid}s${opts.seed}`;
  const ws = workspace(dir, `fuzz-${process.pid}-${opts.seed}`);
  const findings = new Findings();
  const corpus = makeCorpus(ws);
  const runcRoot = `/run/containerd/${opts.engine}/${namespace}`;
  let daemon: Daemon | undefined;
  let client: TaskClient | undefined;
  try {
    daemon = await startDaemon({
      binary: opts.binary,
      dir,
      namespace,
      ...(opts.unshare === undefined ? {} : { unshare: opts.unshare }),
    });
    client = await connectWhenUp(daemon);
    const sentinel = makeBundle(ws, "sentinel", "native", ["/bin/busybox", "sleep", "1000000"]);
    await client.create(sentinel);
    await client.start(sentinel.id);
    let lifecycles = 0;
    for (const kind of ["native", "wasm"] as const) {
      await lifecycle(client, makeBundle(ws, `warm-${kind}`, kind));
      lifecycles += 1;
    }
    const created = new Set<string>();
    await resetPool(client, ws, created);
    const start = sample(daemon.pid);
    const rss = rssSampler(daemon.pid);
    const total = (opts.mix?.typed ?? 6) + (opts.mix?.raw ?? 3) + (opts.mix?.slow ?? 1);
    const mix = { typed: (opts.mix?.typed ?? 6) / total, raw: (opts.mix?.raw ?? 3) / total };
    const conns = await Promise.all(Array.from({ length: 4 }, () => RawConnection.connect(daemon!.socket)));
    const nextId = new Map(conns.map((c) => [c, 1]));
    let requests = 0;
    let rawSessions = 0;
    let bursts = 0;
    let action = 0;
    const began = Date.now();
    const deadline = began + opts.seconds * 1000;
    while (Date.now() < deadline && daemon.alive()) {
      bursts += 1;
      const jobs: Promise<void>[] = [];
      const slow: RawConnection[] = [];
      for (let i = 0; i < (opts.burst ?? 200); i++) {
        const n = ++action;
        const { method, payload } = randomRequest(rng, corpus);
        const roll = rng.next();
        if (roll < mix.typed) {
          const mutation = rng.chance(0.35) ? mutateMessage(rng, payload) : undefined;
          const body = mutation?.bytes ?? payload;
          const conn = rng.pick(conns);
          const streamId = nextId.get(conn)!;
          nextId.set(conn, streamId + 2);
          const repro = `seed ${opts.seed} action ${n}: ${method}${mutation ? ` (${mutation.name})` : ""} payload ${hex(body)}`;
          requests += 1;
          const bytes = frame(streamId, MessageType.Request, 0, requestEnvelope(TASK, method, body));
          jobs.push(
            conn.exchange(streamId, bytes, 90_000).then((a) => {
              findings.answer(method, a, repro);
              if (method === "Create" && a.kind === "response" && !a.response.status) created.add(createdId(body));
            }),
          );
        } else if (roll < mix.typed + mix.raw) {
          const session = randomSession(rng, method, payload);
          rawSessions += 1;
          jobs.push(rawSession(daemon.socket, session.chunks, rng.int(200)));
        } else {
          // A client that sends and never reads: the daemon's writes must not pile up without bound.
          rawSessions += 1;
          jobs.push(slowReader(daemon.socket, 200 + rng.int(1000), slow));
        }
        if (jobs.length % 8 === 0) await sleep(0);
      }
      // Most answers come at once; Waits on a running container come when the reset kills it, and
      // whatever is still pending after that is reported by its own 90 s timeout.
      await Promise.race([Promise.all(jobs), sleep(3_000)]);
      await healthCheck(client, sentinel, findings, `seed ${opts.seed} after burst ${bursts}`);
      const kind = bursts % 2 === 0 ? "wasm" : "native";
      try {
        await lifecycle(client, makeBundle(ws, `good-${bursts}`, kind));
        lifecycles += 1;
      } catch (err) {
        findings.add(
          "good request failed",
          `${kind} Create/Start/Wait/Delete: ${(err as Error).message}`,
          `seed ${opts.seed} after burst ${bursts}`,
        );
      }
      await resetPool(client, ws, created);
      await Promise.race([Promise.all(jobs), sleep(30_000)]);
      for (const s of slow) s.close();
      for (const m of escapedMounts(sample(daemon.pid), dir))
        findings.add("mount outside the bundles", m, `seed ${opts.seed} by burst ${bursts}`);
      log(
        `burst ${bursts}: ${requests} requests, ${rawSessions} raw sessions, rss ${Math.round(sample(daemon.pid).rssKiB / 1024)} MiB, ${findings.list().length} findings`,
      );
      for (let i = 0; i < conns.length; i++) {
        if (!conns[i]!.closed) continue;
        conns[i] = await RawConnection.connect(daemon.socket);
        nextId.set(conns[i]!, 1);
      }
    }
    if (!daemon.alive()) {
      const tail = readFileSync(daemon.logFile, "utf8").split("\n").slice(-20).join("\n");
      throw new Error(
        `seed ${opts.seed}: the daemon (pid ${daemon.pid}) died in burst ${bursts}; the end of its log:\n${tail}`,
      );
    }
    const seconds = (Date.now() - began) / 1000;
    const memory = rss.stop();
    await resetPool(client, ws, created, false);
    for (const c of conns) c.close();
    await sleep(200);
    const end = sample(daemon.pid);
    const leaks = leaksBetween(start, end);
    await removeContainer(client, sentinel.id);
    const idle = sample(daemon.pid);
    if (idle.children.length > 0) leaks.push(...idle.children.map((c) => `child process with no container left: ${c}`));
    await client.shutdown().catch(() => {});
    client.close();
    const exited = await daemon.gone(10_000);
    const said = readFileSync(daemon.logFile, "utf8").includes("shim exiting");
    const daemonExit = exited
      ? said
        ? "exited after Shutdown"
        : "exited without saying so"
      : "still running 10 s after Shutdown";
    if (!exited || !said) findings.add("daemon did not exit cleanly", daemonExit, `seed ${opts.seed}`);
    if (existsSync(daemon.socket)) leaks.push(`the daemon's socket ${daemon.socket}`);
    leaks.push(...filesUnder(runcRoot).map((f) => `runc state ${join(runcRoot, f)}`));
    leaks.push(...cgroupsUnder(ws.cgroupParent).map((c) => `cgroup ${c}`));
    for (const line of daemon.internalErrors()) findings.add("error in the shim's log", line, `seed ${opts.seed}`);
    return {
      seed: opts.seed,
      seconds,
      bursts,
      requests,
      rawSessions,
      requestsPerSecond: requests / seconds,
      lifecycles,
      answers: Object.fromEntries(findings.answers),
      rss: { startKiB: start.rssKiB, endKiB: end.rssKiB, ...memory },
      fds: { start: start.fds, end: end.fds },
      findings: findings.list(),
      leaks,
      daemonExit,
    };
  } finally {
    client?.close();
    if (daemon) killTree(daemon.pid, ws, runcRoot);
    await daemon?.kill();
    await daemon?.closeEvents();
    await cleanup(ws, runcRoot);
  }
}

async function healthCheck(client: TaskClient, sentinel: Bundle, findings: Findings, repro: string): Promise<void> {
  try {
    const c = await client.connect(sentinel.id);
    if (!(c.shimPid > 0)) throw new Error(`Connect answered shim pid ${c.shimPid}`);
    const s = await client.state(sentinel.id);
    if (s.status !== Status.RUNNING) throw new Error(`the long-running container is ${Status[s.status]}`);
  } catch (err) {
    findings.add("good request failed", `Connect/State: ${(err as Error).message}`, repro);
  }
}

/** The id of a Create the daemon accepted (the request decoded, since it was, even if mutated). */
function createdId(body: Uint8Array): string {
  try {
    return fromBinary(pb.CreateTaskRequestSchema, body).id;
  } catch {
    return "";
  }
}

async function connectWhenUp(daemon: Daemon): Promise<TaskClient> {
  // The socket accepts at once (it was bound before the daemon started); the first answer waits
  // for the daemon to load. A NOT_FOUND for an unknown id is that answer.
  const client = await TaskClient.connect(daemon.socket);
  await client
    .call("Connect", pb.ConnectRequestSchema, pb.ConnectResponseSchema, { id: "nobody" }, 60_000)
    .catch(() => {});
  return client;
}

async function rawSession(socket: string, chunks: Uint8Array[], lingerMs: number): Promise<void> {
  const conn = await RawConnection.connect(socket);
  for (const c of chunks) conn.send(c);
  await sleep(lingerMs);
  conn.close();
}

/**
 * A client that sends and never reads. Each request names a long unknown method, which the
 * UNIMPLEMENTED answer repeats, so the unread answers are as large as the requests.
 */
async function slowReader(socket: string, count: number, keep: RawConnection[]): Promise<void> {
  const conn = await RawConnection.connect(socket);
  conn.pause();
  keep.push(conn);
  const request = requestEnvelope(TASK, "x".repeat(16 * 1024), new Uint8Array(0));
  for (let i = 0; i < count; i++) {
    conn.send(frame(2 * i + 1, MessageType.Request, 0, request));
    if (i % 64 === 63) await sleep(1);
  }
}
