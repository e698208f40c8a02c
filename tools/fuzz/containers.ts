/**
 * Real containers for the fuzzer: bundles laid out as containerd lays them out (a config.json from
 * `runc spec`, the root filesystem given as a bind mount in the Create request, as the native
 * snapshotter does), and the requests a well-behaved client sends, checked answer by answer.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import * as pb from "@wasm-shims/shim-core/src/gen/containerd/task/v2/shim_pb.ts";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { TtrpcClient } from "@wasm-shims/shim-core/src/ttrpc/client.ts";
import type { Spec } from "@wasm-shims/shim-core/src/oci/spec.ts";
import { fixturePath } from "@wasm-shims/test-fixtures";

export const TASK = "containerd.task.v2.Task";

export interface Workspace {
  dir: string;
  /** A static busybox root and a root holding only a Wasm module, shared read-only by every bundle. */
  nativeRoot: string;
  wasmRoot: string;
  cgroupParent: string;
  template: Spec;
}

export function workspace(dir: string, cgroupParent: string): Workspace {
  const nativeRoot = join(dir, "roots", "native");
  const wasmRoot = join(dir, "roots", "wasm");
  // Mount points runc needs: the roots are bind-mounted read-only, so it cannot make them itself.
  for (const root of [nativeRoot, wasmRoot])
    for (const d of ["proc", "dev", "sys"]) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(join(nativeRoot, "bin"));
  copyFileSync("/bin/busybox", join(nativeRoot, "bin", "busybox"));
  chmodSync(join(nativeRoot, "bin", "busybox"), 0o755);
  copyFileSync(fixturePath("hello"), join(wasmRoot, "hello.wasm"));
  const specDir = join(dir, "spec");
  mkdirSync(specDir, { recursive: true });
  execFileSync("runc", ["spec", "--bundle", specDir]);
  const template = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8")) as Spec;
  return { dir, nativeRoot, wasmRoot, cgroupParent, template };
}

export type Kind = "native" | "wasm";

export interface Bundle {
  id: string;
  path: string;
  kind: Kind;
  out: string;
  request: MessageInitShape<typeof pb.CreateTaskRequestSchema>;
}

/** A bundle for `args` (default: print one line and exit 0), and the Create request for it. */
export function makeBundle(ws: Workspace, id: string, kind: Kind, args?: string[]): Bundle {
  const path = join(ws.dir, "bundles", id);
  mkdirSync(join(path, "rootfs"), { recursive: true });
  const spec: Spec = structuredClone(ws.template);
  spec.process = {
    ...spec.process!,
    terminal: false,
    args: args ?? (kind === "native" ? ["/bin/busybox", "echo", "good"] : ["/hello.wasm"]),
    env: ["PATH=/bin"],
    cwd: "/",
  };
  spec.root = { path: "rootfs", readonly: true };
  spec.linux = { ...spec.linux, cgroupsPath: `/${ws.cgroupParent}/${id}` };
  writeFileSync(join(path, "config.json"), JSON.stringify(spec));
  const out = join(path, "out");
  const source = kind === "native" ? ws.nativeRoot : ws.wasmRoot;
  return {
    id,
    path,
    kind,
    out,
    request: {
      id,
      bundle: path,
      stdout: `file://${out}`,
      stderr: `file://${out}`,
      rootfs: [{ type: "bind", source, options: ["rbind", "ro"] }],
    },
  };
}

export function removeBundle(b: Bundle): void {
  rmSync(b.path, { recursive: true, force: true });
}

/** Typed calls on one ttrpc connection, the way containerd makes them. */
export class TaskClient {
  readonly #client: TtrpcClient;
  private constructor(client: TtrpcClient) {
    this.#client = client;
  }

  static async connect(socket: string): Promise<TaskClient> {
    return new TaskClient(await TtrpcClient.connect(socket));
  }

  async call<I extends DescMessage, O extends DescMessage>(
    method: string,
    input: I,
    output: O,
    init: MessageInitShape<I>,
    timeoutMs = 30_000,
  ): Promise<MessageShape<O>> {
    const bytes = await this.#client.call(TASK, method, toBinary(input, create(input, init)), { timeoutMs });
    return fromBinary(output, bytes);
  }

  create(b: Bundle) {
    return this.call("Create", pb.CreateTaskRequestSchema, pb.CreateTaskResponseSchema, b.request);
  }
  start(id: string) {
    return this.call("Start", pb.StartRequestSchema, pb.StartResponseSchema, { id });
  }
  state(id: string) {
    return this.call("State", pb.StateRequestSchema, pb.StateResponseSchema, { id }, 10_000);
  }
  connect(id: string) {
    return this.call("Connect", pb.ConnectRequestSchema, pb.ConnectResponseSchema, { id }, 10_000);
  }
  kill(id: string, signal = 9) {
    return this.call("Kill", pb.KillRequestSchema, EmptySchema, { id, signal, all: true });
  }
  wait(id: string, timeoutMs = 30_000) {
    return this.call("Wait", pb.WaitRequestSchema, pb.WaitResponseSchema, { id }, timeoutMs);
  }
  delete(id: string) {
    return this.call("Delete", pb.DeleteRequestSchema, pb.DeleteResponseSchema, { id });
  }
  shutdown() {
    return this.call("Shutdown", pb.ShutdownRequestSchema, EmptySchema, {}, 10_000);
  }

  close(): void {
    this.#client.close();
  }
}

/** Create, Start, Wait, Delete of a container that prints one line: the output and status must be right. */
export async function lifecycle(client: TaskClient, b: Bundle): Promise<void> {
  await client.create(b);
  try {
    await client.start(b.id);
    const { exitStatus } = await client.wait(b.id);
    if (exitStatus !== 0) throw new Error(`${b.kind} container ${b.id} exited with ${exitStatus}`);
  } finally {
    await client.delete(b.id).catch(async () => {
      await client.kill(b.id).catch(() => {});
      await client.wait(b.id, 10_000).catch(() => {});
      await client.delete(b.id);
    });
  }
  const out = readFileSync(b.out, "utf8");
  const want = b.kind === "native" ? "good\n" : "hello from wasm\n";
  if (out !== want)
    throw new Error(`${b.kind} container ${b.id} printed ${JSON.stringify(out)}, not ${JSON.stringify(want)}`);
}

/** Ends a container whatever state it is in; true if the shim no longer knows it. */
export async function removeContainer(client: TaskClient, id: string): Promise<boolean> {
  await client.kill(id).catch(() => {});
  await client.wait(id, 15_000).catch(() => {});
  try {
    await client.delete(id);
    return true;
  } catch (err) {
    return /not created|not found/.test((err as Error).message);
  }
}
