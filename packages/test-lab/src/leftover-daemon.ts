import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { argAfter, type ProcInfo } from "./procfs.ts";

/**
 * For a daemon left serving, what tells why it did not exit (cli/orphans.ts): it exits once its
 * bundle is gone or nothing is left in it, unless it is stuck (its state, its kernel wait) or its
 * exit never ends. "" for any other process.
 */
export function whyNotExited(p: ProcInfo): string {
  if (p.argv.at(-1) !== "serve") return "";
  const bundle = argAfter(p.argv, "-bundle");
  const socket = argAfter(p.argv, "-socket");
  const facts = [
    `state ${p.state}`,
    `wchan ${wchan(p.pid) ?? "?"}`,
    `bundle ${bundle && existsSync(join(bundle, "config.json")) ? "present" : "gone"}`,
    `socket ${socket && existsSync(socket) ? "present" : "gone"}`,
  ];
  return ` [${facts.join(", ")}]`;
}

/** Where in the kernel the process waits ("0" when it runs). */
function wchan(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/wchan`, "utf8") || "0";
  } catch {
    return undefined;
  }
}
