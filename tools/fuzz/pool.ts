/**
 * The containers and paths fuzzed requests aim at. Victims run, so a fuzzed Kill, Exec or Pause
 * reaches runc; spares are bundles a fuzzed Create may use. All of them are removed and made
 * again after every burst, and removed for good at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeBundle, removeContainer, type Bundle, type TaskClient, type Workspace } from "./containers.ts";
import type { Corpus } from "./messages.ts";

const VICTIMS = 3;
const SPARES = 6;
const victims = Array.from({ length: VICTIMS }, (_, i) => `v${i}`);
const spares = Array.from({ length: SPARES }, (_, i) => `s${i}`);
/** Fixed per seed, so the stream of inputs is too. */
const pool = [...victims, ...spares, "fz0", "fz1"];

/** Ids, bundles and paths the requests draw from. Fixed per seed, so the input stream is too. */
export function makeCorpus(ws: Workspace): Corpus {
  const dir = ws.dir;
  const bundles = [...victims, ...spares].map((id) => join(dir, "bundles", id));
  const noReader = join(dir, "no-reader.fifo");
  execFileSync("mkfifo", [noReader]);
  mkdirSync(join(dir, "outside"));
  mkdirSync(join(dir, "scratch"));
  writeFileSync(join(dir, "file"), "");
  // A symlink a mount target could follow out of the root filesystem.
  symlinkSync(join(dir, "outside"), join(ws.nativeRoot, "escape"));
  return {
    ids: () => pool,
    bundles: () => bundles,
    stdio: [
      "",
      `file://${join(dir, "scratch", "out")}`,
      join(dir, "file"),
      noReader,
      "/dev/null",
      "relative",
      "binary:///bin/true",
      "fifo:///nonexistent",
      "/nonexistent/fifo",
      join(dir, "scratch"),
    ],
    mountSources: [
      ws.nativeRoot,
      ws.wasmRoot,
      "/nonexistent",
      "-a",
      "--bind",
      "relative",
      "overlay",
      join(dir, "file"),
    ],
    mountTargets: [
      "",
      "",
      "bin",
      "escape",
      "escape/sub",
      "../../../outside",
      "/../../../outside",
      "bin/busybox",
      "nonexistent/dir",
    ],
    optionFiles: ["/dev/zero", "/dev/urandom", noReader, "/nonexistent", join(dir, "file"), dir, "/proc/self/status"],
    scratch: [join(dir, "scratch"), join(dir, "scratch", "runc-root")],
  };
}

/** `created`: ids outside the pool that a fuzzed Create got accepted; they go too. */
export async function resetPool(
  client: TaskClient,
  ws: Workspace,
  created: Set<string>,
  recreate = true,
): Promise<void> {
  for (const id of [...pool, ...created]) await removeContainer(client, id);
  created.clear();
  if (!recreate) return;
  for (let i = 0; i < SPARES; i++)
    makeBundle(
      ws,
      `s${i}`,
      i % 3 === 2 ? "wasm" : "native",
      i % 2 === 0 ? undefined : ["/bin/busybox", "sleep", "1000"],
    );
  for (let i = 0; i < VICTIMS; i++) {
    const b: Bundle = makeBundle(ws, `v${i}`, "native", ["/bin/busybox", "sleep", "1000000"]);
    await client.create(b);
    if (i > 0) await client.start(b.id);
  }
}
