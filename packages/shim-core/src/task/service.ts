import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EmptySchema } from "@bufbuild/protobuf/wkt";
import type * as pb from "../gen/containerd/task/v2/shim_pb.ts";
type Empty = MessageInitShape<typeof EmptySchema>;
import { alreadyExists, invalidArgument, notFound, unavailable, unimplemented } from "../errors.ts";
import type { EventSink } from "../events/sink.ts";
import type { Logger } from "../log.ts";
import { writeDeleted } from "./bundle-files.ts";
import { Container, type CreateContext } from "./container.ts";
import { newExec, startExec } from "./exec.ts";
import { checkSignal } from "./identifiers.ts";
import type { TaskProcess } from "./process.ts";
import { listPids, updateResources } from "./resources.ts";
import { CgroupMonitor } from "./cgroup-monitor.ts";
import { TaskEvents, timestamp as ts } from "./task-events.ts";

export interface ServiceDeps extends CreateContext {
  events: EventSink;
  log: Logger;
  /** Called once Shutdown is accepted with no container left. */
  onShutdown: () => void;
  /** The socket this daemon serves on, for the `delete` that follows it (bundle-files.ts, writeDeleted). */
  socket?: string;
}

/**
 * The shim v2 Task API as plain async functions (no transport types), so tests call them directly.
 * Each handler: find the container/process, move it through its lifecycle (lifecycle.ts: an
 * illegal request is refused there), act, publish the event, answer.
 */
export class TaskService {
  readonly containers = new Map<string, Container>();
  /** Creates still running, by id: Connect waits for them (containerd connects while loading after a restart), and so does Shutdown. */
  readonly creating = new Map<string, Promise<unknown>>();
  /** Set once a Shutdown is accepted; from then on the daemon only finishes what it was doing. */
  #shuttingDown = false;
  readonly #cgroups: CgroupMonitor;
  readonly #deps: ServiceDeps;
  readonly #events: TaskEvents;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.#cgroups = new CgroupMonitor(deps.log);
    this.#events = new TaskEvents(deps.events);
  }

  #container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not created`);
    return c;
  }

  #process(id: string, execId: string): { c: Container; p: TaskProcess } {
    const c = this.#container(id);
    const p = execId ? c.execs.get(execId) : c.init;
    if (!p) throw notFound(`process ${execId} does not exist`);
    return { c, p };
  }

  async create(req: pb.CreateTaskRequest): Promise<MessageInitShape<typeof pb.CreateTaskResponseSchema>> {
    // A Shutdown follows every Delete, so a pod's next Create can reach a daemon on its way out.
    if (this.#shuttingDown)
      throw unavailable(`the shim is shutting down (it had no task left): create ${req.id} through a new shim`);
    if (this.containers.has(req.id) || this.creating.has(req.id)) throw alreadyExists(`id ${req.id}`);
    const log = this.#deps.log.with({ id: req.id });
    const started = Date.now();
    const creating = Container.create(req, this.#deps).then((made) => {
      this.containers.set(req.id, made);
      return made;
    });
    this.creating.set(req.id, creating);
    const c = await creating.finally(() => this.creating.delete(req.id));
    log.info("created", { kind: c.entrypoint.kind, entrypoint: c.entrypoint.path, ms: Date.now() - started });
    this.#events.created(req);
    return { pid: 0 };
  }

  async start(req: pb.StartRequest): Promise<MessageInitShape<typeof pb.StartResponseSchema>> {
    const { c, p } = this.#process(req.id, req.execId);
    const started = Date.now();
    const { pid, exit } = req.execId
      ? await startExec(c, p, this.#deps.engine, this.#deps.log)
      : await p.start((size) => c.initLaunch(size));
    this.#deps.log.info("started", { id: c.id, exec: req.execId, pid, ms: Date.now() - started });
    this.#events.started(c.id, p);
    if (req.execId) {
      void exit.then((status) => this.#exited(c, p, status));
    } else {
      await this.#cgroups.started(c.runtime, c.id, () => this.#oomKilled(c));
      void exit.then((status) => this.#initExited(c, status));
    }
    return { pid };
  }

  /**
   * CRI reports OOMKilled from TaskOOM (1.6 on), which goes out before TaskExit, and from 2.3 on
   * also from the Stats it asks for right after Wait: both are read before Wait is answered and
   * before runc drops the cgroup.
   */
  async #initExited(c: Container, status: number): Promise<void> {
    if (await this.#cgroups.exited(c.runtime, c.id)) this.#oomKilled(c);
    this.#exited(c, c.init, status);
    // Delete tries again and reports it, should runc fail here.
    try {
      await c.removeFromRunc();
    } catch (err) {
      this.#deps.log.warn("cannot remove the stopped container from runc", { id: c.id, error: (err as Error).message });
    }
  }

  #oomKilled(c: Container): void {
    this.#deps.log.warn("out of memory", { id: c.id });
    this.#events.oom(c.id);
  }

  #exited(c: Container, p: TaskProcess, status: number): void {
    p.finish(status);
    this.#deps.log.info("exited", { id: c.id, exec: p.execId, status });
    this.#events.exited(c.id, p);
    // Running execs report their own exit through `runc exec`; ones never started now never can.
    if (!p.execId) for (const e of c.execs.values()) if (e.state === "created") e.finish(137);
  }

  async state(req: pb.StateRequest): Promise<MessageInitShape<typeof pb.StateResponseSchema>> {
    const { c, p } = this.#process(req.id, req.execId);
    const { stdin, stdout, stderr, terminal } = p.stdio;
    return {
      id: req.execId || c.id,
      bundle: c.bundle,
      pid: p.pid,
      status: p.status,
      stdin,
      stdout,
      stderr,
      terminal,
      exitStatus: p.exitStatus,
      exitedAt: ts(p.exitedAt),
      execId: req.execId,
    };
  }

  async kill(req: pb.KillRequest): Promise<Empty> {
    const { c, p } = this.#process(req.id, req.execId);
    checkSignal(req.signal);
    // The kill reaches what a Start, Pause or Resume under way left (to a paused container, runc
    // sends SIGKILL and thaws the cgroup).
    await p.settled();
    if (p.to("kill") === "stopped") {
      // Nothing runs before Start: the kill just decides how it ends.
      this.#exited(c, p, 128 + req.signal);
      return {};
    }
    if (req.execId) c.runtime.signal(p.pid, req.signal);
    else await p.signal(() => c.runtime.kill(c.id, req.signal, req.all));
    return {};
  }

  async wait(req: pb.WaitRequest): Promise<MessageInitShape<typeof pb.WaitResponseSchema>> {
    const { p } = this.#process(req.id, req.execId);
    await p.exited;
    return { exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt) };
  }

  async delete(req: pb.DeleteRequest): Promise<MessageInitShape<typeof pb.DeleteResponseSchema>> {
    const { c, p } = this.#process(req.id, req.execId);
    p.to("delete");
    // Deleted before it ever started: it ends now for whoever waits on it (found by tools/fuzz:
    // such a Wait never returned).
    p.finish(137);
    const answer = { pid: p.pid, exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt ?? new Date()) };
    if (req.execId) {
      await p.underway(() => c.removeExecFiles(req.execId));
      c.execs.delete(req.execId);
      p.to("deleted");
      return answer;
    }
    c.endExecs();
    await p.underway(() => c.destroy());
    // Only after destroy() succeeded: runc has no container, the rootfs is off.
    await writeDeleted(c.bundle, {
      pid: p.pid,
      runcState: join(c.runtime.config.root, c.id),
      socket: this.#deps.socket ?? "",
    }).catch(() => {});
    p.to("deleted");
    this.containers.delete(c.id);
    this.#cgroups.forget(c.id);
    this.#deps.log.info("deleted", { id: c.id });
    this.#events.deleted(c.id, p, answer.exitedAt);
    return answer;
  }

  async exec(req: pb.ExecProcessRequest): Promise<Empty> {
    const c = this.#container(req.id);
    const p = await newExec(c, req);
    // Checked again: another Exec of this id may have got here while the stdio was checked.
    if (c.execs.has(req.execId)) throw alreadyExists(`id ${req.execId}`);
    c.execs.set(req.execId, p);
    this.#events.execAdded(c.id, req.execId);
    return {};
  }

  async pids(req: pb.PidsRequest): Promise<MessageInitShape<typeof pb.PidsResponseSchema>> {
    return listPids(this.#container(req.id));
  }

  async pause(req: pb.PauseRequest): Promise<Empty> {
    const c = this.#container(req.id);
    await c.init.delivered();
    // PAUSING while runc freezes the cgroup, which can take a while: State says so, and a second
    // Pause, a Resume or an Exec is refused rather than racing the freezer.
    c.init.to("pause");
    await c.init.underway(() => c.runtime.pause(c.id));
    c.init.to("paused");
    this.#events.paused(c.id);
    return {};
  }

  async resume(req: pb.ResumeRequest): Promise<Empty> {
    const c = this.#container(req.id);
    await c.init.delivered();
    c.init.to("resume");
    await c.init.underway(() => c.runtime.resume(c.id));
    c.init.to("resumed");
    this.#events.resumed(c.id);
    return {};
  }

  async stats(req: pb.StatsRequest): Promise<MessageInitShape<typeof pb.StatsResponseSchema>> {
    const c = this.#container(req.id);
    return { stats: await this.#cgroups.stats(c.runtime, c.id, c.init.running) };
  }

  async update(req: pb.UpdateTaskRequest): Promise<Empty> {
    await updateResources(this.#container(req.id), req);
    return {};
  }

  async closeIO(req: pb.CloseIORequest): Promise<Empty> {
    const { p } = this.#process(req.id, req.execId);
    if (req.stdin) p.closeStdin();
    return {};
  }

  async connect(req: pb.ConnectRequest): Promise<MessageInitShape<typeof pb.ConnectResponseSchema>> {
    // A containerd that restarted mid-Create asks here whether the task exists: answer once it does.
    await this.creating.get(req.id)?.catch(() => {});
    const c = this.#container(req.id);
    return { shimPid: process.pid, taskPid: c.init.pid, version: "" };
  }

  /**
   * Drops a container containerd no longer knows (its bundle is gone): what runc has of it and its
   * mount go, no event is published. See cli/orphans.ts.
   */
  async forget(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    c.endExecs();
    if (c.init.running) await c.runtime.kill(c.id, 9, true).catch(() => {});
    await c.destroy();
    this.containers.delete(id);
  }

  /** containerd sends one after every Delete (2.4 also to a pod's shared v3 shim): only the last one ends the daemon. */
  async shutdown(_req: pb.ShutdownRequest): Promise<Empty> {
    if (this.#shuttingDown || this.containers.size > 0 || this.creating.size > 0) return {};
    this.#shuttingDown = true;
    this.#deps.onShutdown();
    return {};
  }

  async checkpoint(): Promise<Empty> {
    throw unimplemented("checkpoint is not supported by this shim");
  }

  async resizePty(req: pb.ResizePtyRequest): Promise<Empty> {
    const { p } = this.#process(req.id, req.execId);
    if (req.width > 0xffff || req.height > 0xffff)
      throw invalidArgument(`resize: ${req.width}x${req.height} is not a window size`);
    p.resize(req.width, req.height);
    return {};
  }
}
