import type { Timestamp } from "@bufbuild/protobuf/wkt";
import * as ev from "../gen/wire/containerd/events/task.ts";
import { timestampFromDate } from "../wire/well-known.ts";
import type { CreateTaskRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import { Topic } from "../events/topics.ts";
import { packEvent, type EventSink } from "../events/sink.ts";
import type { TaskProcess } from "./process.ts";

export const timestamp = (d: Date | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);

/**
 * The Task events, one method each, so the handlers say what happened and this says how
 * containerd wants it told (topic, message, which id goes where: an exec's exit carries the exec
 * id in `id`, the init's the container id).
 */
export class TaskEvents {
  readonly #sink: EventSink;

  constructor(sink: EventSink) {
    this.#sink = sink;
  }

  created(req: CreateTaskRequest): void {
    const io = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
    this.#sink.publish(
      Topic.TaskCreate,
      packEvent(ev.TaskCreateSchema, {
        containerId: req.id,
        bundle: req.bundle,
        rootfs: req.rootfs,
        io,
        checkpoint: req.checkpoint,
        pid: 0,
      }),
    );
  }

  started(containerId: string, p: TaskProcess): void {
    if (p.execId)
      this.#sink.publish(
        Topic.TaskExecStarted,
        packEvent(ev.TaskExecStartedSchema, { containerId, execId: p.execId, pid: p.pid }),
      );
    else this.#sink.publish(Topic.TaskStart, packEvent(ev.TaskStartSchema, { containerId, pid: p.pid }));
  }

  execAdded(containerId: string, execId: string): void {
    this.#sink.publish(Topic.TaskExecAdded, packEvent(ev.TaskExecAddedSchema, { containerId, execId }));
  }

  exited(containerId: string, p: TaskProcess): void {
    const exit = {
      containerId,
      id: p.execId || containerId,
      pid: p.pid,
      exitStatus: p.exitStatus,
      exitedAt: timestamp(p.exitedAt),
    };
    this.#sink.publish(Topic.TaskExit, packEvent(ev.TaskExitSchema, exit));
  }

  deleted(containerId: string, init: TaskProcess, exitedAt: Timestamp | undefined): void {
    this.#sink.publish(
      Topic.TaskDelete,
      packEvent(ev.TaskDeleteSchema, { containerId, pid: init.pid, exitStatus: init.exitStatus, exitedAt, id: "" }),
    );
  }

  paused(containerId: string): void {
    this.#sink.publish(Topic.TaskPaused, packEvent(ev.TaskPausedSchema, { containerId }));
  }

  resumed(containerId: string): void {
    this.#sink.publish(Topic.TaskResumed, packEvent(ev.TaskResumedSchema, { containerId }));
  }

  oom(containerId: string): void {
    this.#sink.publish(Topic.TaskOOM, packEvent(ev.TaskOOMSchema, { containerId }));
  }
}
