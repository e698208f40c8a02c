import { rm, writeFile } from "node:fs/promises";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, timestampFromDate, type EmptySchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import * as ev from "../gen/containerd/events/task_pb.ts";
import { ProcessDetailsSchema } from "../gen/containerd/runc/v1/options_pb.ts";
import type * as pb from "../gen/containerd/task/v2/shim_pb.ts";
type Empty = MessageInitShape<typeof EmptySchema>;
import { Status } from "../gen/containerd/types/task_pb.ts";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unimplemented } from "../errors.ts";
import { Topic } from "../events/topics.ts";
import { packEvent, type EventSink } from "../events/sink.ts";
import type { Logger } from "../log.ts";
import { checkProcess } from "../oci/validate-spec.ts";
import { Container, type CreateContext } from "./container.ts";
import { bundleFiles } from "./state.ts";
import { execProcessSpec } from "./exec.ts";
import { checkIdentifier, checkSignal } from "./identifiers.ts";
import { TaskProcess, statusName } from "./process.ts";
import { checkStdio } from "./stdio.ts";
import { memoryCgroup, oomKills } from "./oom.ts";
import { metricsAny } from "./stats.ts";

export interface ServiceDeps extends CreateContext {
  events: EventSink;
  log: Logger;
  /** Called once Shutdown is accepted with no container left. */
  onShutdown: () => void;
}

const ts = (d: Date | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);

/**
 * The shim v2 Task API as plain async functions (no transport types), so tests call them directly.
 * Each handler: find the container/process, act, publish the event, answer.
 */
export class TaskService {
  readonly containers = new Map<string, Container>();
  private readonly deps: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.deps = deps;
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not created`);
    return c;
  }

  private process(id: string, execId: string): { c: Container; p: TaskProcess } {
    const c = this.container(id);
    const p = execId ? c.execs.get(execId) : c.init;
    if (!p) throw notFound(`process ${execId} does not exist`);
    return { c, p };
  }

  private publish(topic: string, event: ReturnType<typeof packEvent>): void {
    this.deps.events.publish(topic, event);
  }

  async create(req: pb.CreateTaskRequest): Promise<MessageInitShape<typeof pb.CreateTaskResponseSchema>> {
    if (this.containers.has(req.id)) throw alreadyExists(`id ${req.id}`);
    const log = this.deps.log.with({ id: req.id });
    const started = Date.now();
    const c = await Container.create(req, this.deps);
    this.containers.set(req.id, c);
    log.info("created", { kind: c.entrypoint.kind, entrypoint: c.entrypoint.path, ms: Date.now() - started });
    this.publish(
      Topic.TaskCreate,
      packEvent(ev.TaskCreateSchema, { containerId: req.id, bundle: req.bundle, rootfs: req.rootfs, io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }, checkpoint: req.checkpoint, pid: 0 }),
    );
    return { pid: 0 };
  }

  async start(req: pb.StartRequest): Promise<MessageInitShape<typeof pb.StartResponseSchema>> {
    const { c, p } = this.process(req.id, req.execId);
    const started = Date.now();
    const { pid, exit } = req.execId ? await this.startExec(c, p) : await startInit(c, p);
    this.deps.log.info("started", { id: c.id, exec: req.execId, pid, ms: Date.now() - started });
    this.publish(req.execId ? Topic.TaskExecStarted : Topic.TaskStart, req.execId ? packEvent(ev.TaskExecStartedSchema, { containerId: c.id, execId: req.execId, pid }) : packEvent(ev.TaskStartSchema, { containerId: c.id, pid }));
    if (req.execId) {
      void exit.then((status) => this.exited(c, p, status));
    } else {
      void exit.then((status) => this.initExited(c, status));
    }
    return { pid };
  }

  /** CRI reports OOMKilled from TaskOOM, so it goes out before TaskExit; then runc may drop the cgroup. */
  private async initExited(c: Container, status: number): Promise<void> {
    if ((await oomKills(await memoryCgroup(c.runc.config.root, c.id))) > 0) {
      this.deps.log.warn("out of memory", { id: c.id });
      this.publish(Topic.TaskOOM, packEvent(ev.TaskOOMSchema, { containerId: c.id }));
    }
    this.exited(c, c.init, status);
    await c.removeFromRunc();
  }

  private async startExec(c: Container, p: TaskProcess) {
    if (!c.init.running) throw failedPrecondition(`cannot exec in container ${c.id}: it is ${statusName(c.init.status)}`);
    const { spec, pid } = execFiles(c, p.execId);
    await writeFile(spec, JSON.stringify(await execProcessSpec(c, p.spec!, this.deps.engine, this.deps.log)));
    const log = c.file(bundleFiles.runcLog);
    return p.start((stdio) => c.runc.exec(c.id, spec, pid, log, stdio), pid, log);
  }

  private exited(c: Container, p: TaskProcess, status: number): void {
    p.finish(status);
    this.deps.log.info("exited", { id: c.id, exec: p.execId, status });
    this.publish(Topic.TaskExit, packEvent(ev.TaskExitSchema, { containerId: c.id, id: p.execId || c.id, pid: p.pid, exitStatus: status, exitedAt: ts(p.exitedAt) }));
    // Running execs report their own exit through `runc exec`; ones never started now never can.
    if (!p.execId) for (const e of c.execs.values()) if (e.status === Status.CREATED) e.finish(137);
  }

  async state(req: pb.StateRequest): Promise<MessageInitShape<typeof pb.StateResponseSchema>> {
    const { c, p } = this.process(req.id, req.execId);
    return {
      id: req.execId || c.id,
      bundle: c.bundle,
      pid: p.pid,
      status: p.status,
      stdin: p.stdio.stdin,
      stdout: p.stdio.stdout,
      stderr: p.stdio.stderr,
      terminal: p.stdio.terminal,
      exitStatus: p.exitStatus,
      exitedAt: ts(p.exitedAt),
      execId: req.execId,
    };
  }

  async kill(req: pb.KillRequest): Promise<Empty> {
    const { c, p } = this.process(req.id, req.execId);
    checkSignal(req.signal);
    if (p.status === Status.STOPPED) throw notFound("process already finished");
    if (p.status === Status.CREATED) {
      // Nothing runs before Start: the kill just decides how it ends.
      this.exited(c, p, 128 + req.signal);
      return {};
    }
    if (req.execId) process.kill(p.pid, req.signal);
    else await c.runc.kill(c.id, req.signal, req.all);
    return {};
  }

  async wait(req: pb.WaitRequest): Promise<MessageInitShape<typeof pb.WaitResponseSchema>> {
    const { p } = this.process(req.id, req.execId);
    await p.exited;
    return { exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt) };
  }

  async delete(req: pb.DeleteRequest): Promise<MessageInitShape<typeof pb.DeleteResponseSchema>> {
    const { c, p } = this.process(req.id, req.execId);
    if (p.running) throw failedPrecondition(`cannot delete ${p.description} ${c.id}: it is ${statusName(p.status)}`);
    // Deleted before it ever started: it ends now for whoever waits on it (found by tools/fuzz:
    // such a Wait never returned).
    p.finish(137);
    const answer = { pid: p.pid, exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt ?? new Date()) };
    if (req.execId) {
      c.execs.delete(req.execId);
      // Probes exec every few seconds for the pod's whole life: their files must not pile up in /run.
      await Promise.all(Object.values(execFiles(c, req.execId)).map((f) => rm(f, { force: true })));
      return answer;
    }
    for (const e of c.execs.values()) {
      if (e.running) process.kill(e.pid, "SIGKILL");
      else e.finish(137);
    }
    await c.destroy();
    this.containers.delete(c.id);
    this.deps.log.info("deleted", { id: c.id });
    this.publish(Topic.TaskDelete, packEvent(ev.TaskDeleteSchema, { containerId: c.id, pid: p.pid, exitStatus: p.exitStatus, exitedAt: answer.exitedAt, id: "" }));
    return answer;
  }

  async exec(req: pb.ExecProcessRequest): Promise<Empty> {
    const c = this.container(req.id);
    if (c.execs.has(req.execId)) throw alreadyExists(`id ${req.execId}`);
    if (c.init.status === Status.STOPPED) throw failedPrecondition(`cannot exec in container ${c.id}: it is stopped`);
    if (req.terminal) throw invalidArgument("terminals (tty) are not supported by this shim");
    checkIdentifier(req.execId, "exec id");
    if (!req.spec) throw invalidArgument("exec has no process spec");
    const stdio = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
    await checkStdio(stdio);
    const p = new TaskProcess(req.execId, stdio);
    p.spec = checkProcess(parseJson(req.spec.value, `exec ${req.execId}: process spec`), `exec ${req.execId}: process`);
    c.execs.set(req.execId, p);
    this.publish(Topic.TaskExecAdded, packEvent(ev.TaskExecAddedSchema, { containerId: c.id, execId: req.execId }));
    return {};
  }

  async pids(req: pb.PidsRequest): Promise<MessageInitShape<typeof pb.PidsResponseSchema>> {
    const c = this.container(req.id);
    if (!c.init.running) return { processes: [] };
    const byPid = new Map([...c.execs.values()].map((e) => [e.pid, e.execId]));
    const pids = await c.runc.ps(c.id);
    return {
      processes: pids.map((pid) => {
        const execId = byPid.get(pid);
        return execId ? { pid, info: anyPack(ProcessDetailsSchema, create(ProcessDetailsSchema, { execId })) } : { pid };
      }),
    };
  }

  async pause(req: pb.PauseRequest): Promise<Empty> {
    const c = this.container(req.id);
    if (c.init.status !== Status.RUNNING) throw failedPrecondition(`cannot pause task ${c.id}: it is ${statusName(c.init.status)}`);
    await c.runc.pause(c.id);
    c.init.status = Status.PAUSED;
    this.publish(Topic.TaskPaused, packEvent(ev.TaskPausedSchema, { containerId: c.id }));
    return {};
  }

  async resume(req: pb.ResumeRequest): Promise<Empty> {
    const c = this.container(req.id);
    if (c.init.status !== Status.PAUSED) throw failedPrecondition(`cannot resume task ${c.id}: it is ${statusName(c.init.status)}`);
    await c.runc.resume(c.id);
    c.init.status = Status.RUNNING;
    this.publish(Topic.TaskResumed, packEvent(ev.TaskResumedSchema, { containerId: c.id }));
    return {};
  }

  async stats(req: pb.StatsRequest): Promise<MessageInitShape<typeof pb.StatsResponseSchema>> {
    const c = this.container(req.id);
    if (!c.init.running) throw notFound(`task ${c.id} is not running`);
    return { stats: metricsAny(await c.runc.stats(c.id)) };
  }

  async update(req: pb.UpdateTaskRequest): Promise<Empty> {
    const c = this.container(req.id);
    if (!req.resources) return {};
    if (!c.init.running) throw failedPrecondition(`cannot update task ${c.id}: it is ${statusName(c.init.status)}`);
    const resources = parseJson(req.resources.value, "update: resources");
    if (typeof resources !== "object" || resources === null || Array.isArray(resources)) throw invalidArgument("update: resources must be a JSON object");
    // The client's own text goes to runc: re-serialising would round int64 limits past 2^53.
    await c.runc.update(c.id, new TextDecoder().decode(req.resources.value));
    return {};
  }

  async closeIO(req: pb.CloseIORequest): Promise<Empty> {
    const { p } = this.process(req.id, req.execId);
    if (req.stdin) p.closeStdin();
    return {};
  }

  async connect(req: pb.ConnectRequest): Promise<MessageInitShape<typeof pb.ConnectResponseSchema>> {
    const c = this.container(req.id);
    return { shimPid: process.pid, taskPid: c.init.pid, version: "" };
  }

  async shutdown(_req: pb.ShutdownRequest): Promise<Empty> {
    if (this.containers.size === 0) this.deps.onShutdown();
    return {};
  }

  async checkpoint(): Promise<Empty> {
    throw unimplemented("checkpoint is not supported by this shim");
  }

  async resizePty(): Promise<Empty> {
    throw unimplemented("terminals (tty) are not supported by this shim");
  }
}

function startInit(c: Container, p: TaskProcess) {
  const pid = c.file(bundleFiles.initPid);
  const log = c.file(bundleFiles.runcLog);
  return p.start((stdio) => c.runc.run(c.id, c.runcBundle, pid, log, stdio), pid, log);
}

/** JSON the client sent inside an Any, as UTF-8; anything else is its mistake. */
function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The process spec runc exec reads and the pid file it writes, one pair per exec in the bundle. */
function execFiles(c: Container, execId: string) {
  return { spec: c.file(`exec-${execId}.json`), pid: c.file(`exec-${execId}.pid`) };
}
