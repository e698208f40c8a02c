import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { join } from "node:path";

/** A FIFO in the bundle, as containerd makes them. */
export function fifo(bundle: string, name: string): string {
  const path = join(bundle, name);
  execFileSync("mkfifo", [path]);
  return path;
}

/** A reader that collects what arrives on `path`. */
export function collect(path: string): { text: () => string; ended: Promise<void> } {
  let text = "";
  const stream = createReadStream(path, { encoding: "utf8" });
  stream.on("data", (d) => (text += d));
  return { text: () => text, ended: new Promise((r) => stream.once("close", () => r())) };
}
