import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ContainerdClient } from "../containerd/client.ts";
import type * as pb from "../gen/containerd/task/v2/shim_pb.ts";
import type { Logger } from "../log.ts";
import type { TaskService } from "../task/service.ts";
import type { CallContext } from "../ttrpc/handler.ts";
import {
  ATTR,
  TRACE_CONTEXT_FILE,
  traceContextOf,
  type Attributes,
  type SpanHandle,
  type TraceContext,
  type Tracing,
} from "./tracing.ts";

export interface TaskTracingInfo {
  engine: string;
  namespace: string;
  /** containerd's gRPC socket, to name the image of a container CRI did not create. */
  containerdAddress?: string;
  log: Logger;
}

/** What the spans of one container share: its attributes and the trace its life is recorded in. */
interface Traced {
  attributes: Attributes;
  /** `start`'s span (left in the bundle) or else Create's: the parent of calls that bring none. */
  root: TraceContext | undefined;
  /** Settles once the image is named (looked up after Create answered); spans end after it. */
  ready: Promise<unknown>;
}

const CRI_IMAGE_ANNOTATION = "io.kubernetes.cri.image-name";
type Rpc = "create" | "start" | "kill" | "delete";
type WithContext<F> = F extends (req: infer Q) => infer R ? (req: Q, ctx?: CallContext) => R : never;
/** The service, whose traced calls also take the ttrpc call's context (for its metadata). */
export type TracedTaskService = Omit<TaskService, Rpc> & { [K in Rpc]: WithContext<TaskService[K]> };

/**
 * The Task service with a span around Create, Start, Kill and Delete, and a span for each
 * process's run (from Start until its exit). A call's parent is the trace context in its ttrpc
 * metadata (containerd 1.7+ with tracing sends `traceparent`), or else the container's own root,
 * so one container's life is one trace. Every other method goes to the service unchanged.
 */
export function traceTaskService(service: TaskService, tracing: Tracing, info: TaskTracingInfo): TracedTaskService {
  const containers = new Map<string, Traced>();
  const base = (id: string): Attributes => ({
    [ATTR.containerId]: id,
    [ATTR.namespace]: info.namespace,
    [ATTR.engine]: info.engine,
    [ATTR.runtime]: `io.containerd.${info.engine}.v1`,
  });

  /** Ends a span once its container's attributes are complete, without holding up the call. */
  const end = (span: SpanHandle, t: Traced, error?: unknown) =>
    void t.ready.finally(() => {
      span.setAttributes(t.attributes);
      span.end(error);
    });

  async function traced<R>(
    method: Rpc,
    id: string,
    execId: string,
    ctx: CallContext | undefined,
    call: () => Promise<R>,
    parentOf?: (t: Traced) => TraceContext | undefined,
  ): Promise<{ result: R; span: SpanHandle; t: Traced }> {
    const t = containers.get(id) ?? { attributes: base(id), root: undefined, ready: Promise.resolve() };
    const parent = (ctx && traceContextOf(ctx.metadata)) ?? parentOf?.(t) ?? t.root;
    const service = ctx?.service ?? "containerd.task.v2.Task";
    const rpcName = method[0]!.toUpperCase() + method.slice(1);
    const attributes = {
      ...t.attributes,
      "rpc.system": "ttrpc",
      "rpc.service": service,
      "rpc.method": rpcName,
      ...(execId ? { [ATTR.execId]: execId } : {}),
    };
    const span = tracing.startSpan(`${service}/${rpcName}`, attributes, parent, "server");
    try {
      const result = await call();
      return { result, span, t };
    } catch (err) {
      end(span, t, err);
      throw err;
    }
  }

  const wrapped = {
    async create(req: pb.CreateTaskRequest, ctx?: CallContext) {
      const fromStart = await readStartContext(req.bundle);
      const { result, span } = await traced(
        "create",
        req.id,
        "",
        ctx,
        () => service.create(req),
        () => fromStart,
      );
      const attributes = base(req.id);
      // Not awaited: the answer to containerd does not wait for the image's name.
      const ready = imageName(service, req.id, info)
        .then((image) => image && (attributes[ATTR.image] = image))
        .catch((err: unknown) =>
          info.log.debug("tracing: cannot name the container's image", { id: req.id, error: (err as Error).message }),
        );
      const t: Traced = { attributes, root: fromStart ?? span.context, ready };
      containers.set(req.id, t);
      end(span, t);
      return result;
    },
    async start(req: pb.StartRequest, ctx?: CallContext) {
      const { result, span, t } = await traced("start", req.id, req.execId, ctx, () => service.start(req));
      end(span, t);
      const c = service.containers.get(req.id);
      const p = req.execId ? c?.execs.get(req.execId) : c?.init;
      if (p) {
        const run = tracing.startSpan(
          "guest run",
          { ...t.attributes, ...(req.execId ? { [ATTR.execId]: req.execId } : {}), "process.pid": result.pid ?? 0 },
          span.context,
        );
        void p.exited.then(() => {
          run.setAttributes({ [ATTR.exitStatus]: p.exitStatus });
          end(run, t);
        });
      }
      return result;
    },
    async kill(req: pb.KillRequest, ctx?: CallContext) {
      const { result, span, t } = await traced("kill", req.id, req.execId, ctx, () => service.kill(req));
      span.setAttributes({ "process.signal": req.signal, "containerd.kill.all": req.all });
      end(span, t);
      return result;
    },
    async delete(req: pb.DeleteRequest, ctx?: CallContext) {
      const { result, span, t } = await traced("delete", req.id, req.execId, ctx, () => service.delete(req));
      span.setAttributes({ [ATTR.exitStatus]: result.exitStatus ?? 0 });
      end(span, t);
      if (!req.execId) containers.delete(req.id);
      return result;
    },
  };
  return new Proxy(service as TracedTaskService, {
    get(target, prop) {
      if (Object.hasOwn(wrapped, prop)) return wrapped[prop as Rpc];
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function readStartContext(bundle: string): Promise<TraceContext | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(bundle, TRACE_CONTEXT_FILE), "utf8")) as Partial<TraceContext>;
    return typeof parsed.traceparent === "string" ? (parsed as TraceContext) : undefined;
  } catch {
    return undefined;
  }
}

/** CRI names the image in an annotation; for anything else containerd knows the container's image. */
async function imageName(service: TaskService, id: string, info: TaskTracingInfo): Promise<string | undefined> {
  const annotated = service.containers.get(id)?.spec.annotations?.[CRI_IMAGE_ANNOTATION];
  if (annotated) return annotated;
  if (!info.containerdAddress) return undefined;
  return new ContainerdClient(info.containerdAddress, info.namespace).containerImage(id);
}
