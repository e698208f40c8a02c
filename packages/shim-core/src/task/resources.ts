import type { MessageInitShape } from "@bufbuild/protobuf";
import { ProcessDetailsSchema } from "../gen/wire/containerd/runc/v1/options.ts";
import { anyPack } from "../wire/well-known.ts";
import type { PidsResponseSchema, UpdateTaskRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import { invalidArgument } from "../errors.ts";
import type { Container } from "./container.ts";
import { parseJson } from "./identifiers.ts";

/** Pids: every process in the container's cgroup, an exec's with its exec id as containerd's runc shim does. */
export async function listPids(c: Container): Promise<MessageInitShape<typeof PidsResponseSchema>> {
  if (!c.init.running) return { processes: [] };
  const byPid = new Map([...c.execs.values()].map((e) => [e.pid, e.execId]));
  const pids = await c.runtime.ps(c.id);
  return {
    processes: pids.map((pid) => {
      const execId = byPid.get(pid);
      return execId ? { pid, info: anyPack(ProcessDetailsSchema, { execId }) } : { pid };
    }),
  };
}

/** Update: new resource limits for the container's cgroup, handed to `runc update`. */
export async function updateResources(c: Container, req: UpdateTaskRequest): Promise<void> {
  if (!req.resources) return;
  c.init.to("update");
  const resources = parseJson(req.resources.value, "update: resources");
  if (typeof resources !== "object" || resources === null || Array.isArray(resources))
    throw invalidArgument("update: resources must be a JSON object");
  // The client's own text goes to runc: re-serialising would round int64 limits past 2^53.
  await c.runtime.update(c.id, new TextDecoder().decode(req.resources.value));
}
