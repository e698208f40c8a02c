import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * For a daemon left serving, what tells why it did not exit (cli/orphans.ts): it exits once its
 * bundle is gone or nothing is left in it, unless it is stuck (its state, its kernel wait) or its
 * exit never ends. "" for any other process.
 */
export function whyNotExited(pid: number, argv: readonly string[]): string {
  if (argv.at(-1) !== "serve") return "";
  const bundle = after(argv, "-bundle");
  const socket = after(argv, "-socket");
  const facts = [
    `state ${procField(pid, "stat") ?? "?"}`,
    `wchan ${procField(pid, "wchan") ?? "?"}`,
    `bundle ${bundle && existsSync(join(bundle, "config.json")) ? "present" : "gone"}`,
    `socket ${socket && existsSync(socket) ? "present" : "gone"}`,
  ];
  return ` [${facts.join(", ")}]`;
}

function after(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The process's state letter (from stat) or its kernel wait channel, while it runs. */
function procField(pid: number, field: "stat" | "wchan"): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/${field}`, "utf8");
    return field === "wchan" ? text || "0" : text.slice(text.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}
