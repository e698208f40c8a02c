/**
 * Checks a runtime spec (config.json, or an exec's process) before the shim acts on it, so that a
 * spec runc would reject at Start, or one the shim cannot even read, is a clear error at Create
 * that names the field. Only what the shim reads and what execve limits are checked; the rest is
 * runc's to judge.
 */
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { invalidArgument } from "../errors.ts";
import type { Process, Spec } from "./spec.ts";

/** The kernel's limit on one argv or envp string, its NUL included (MAX_ARG_STRLEN). */
export const MAX_ARG_STRLEN = 32 * 4096;
const DEFAULT_STACK = 8 << 20;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function kind(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw invalidArgument(`${where} must be a list of strings, not ${kind(v)}`);
  v.forEach((s, i) => {
    if (typeof s !== "string") throw invalidArgument(`${where}[${i}] must be a string, not ${kind(s)}`);
  });
  return v as string[];
}

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

/**
 * execve's limit on argv plus envp: a quarter of the stack limit (at least 32 pages, at most
 * three quarters of 8 MiB), strings with their NULs plus one pointer each.
 */
function argumentSpace(p: Json): number {
  const rlimits = Array.isArray(p.rlimits) ? (p.rlimits as unknown[]) : [];
  const stack = rlimits.find((r): r is Json => isObject(r) && r.type === "RLIMIT_STACK");
  const soft = typeof stack?.soft === "number" ? stack.soft : DEFAULT_STACK;
  return Math.min(Math.max(soft / 4, MAX_ARG_STRLEN), (3 * DEFAULT_STACK) / 4);
}

/** A process as runc would run it: args and env that execve accepts, an absolute cwd. */
export function checkProcess(p: unknown, where = "process"): Process {
  if (!isObject(p)) throw invalidArgument(`${where} must be an object, not ${kind(p)}`);
  const args = p.args === undefined ? [] : strings(p.args, `${where}.args`);
  if (args.length === 0) throw invalidArgument(`${where}.args is empty: the image sets no entrypoint or command`);
  const env = p.env === undefined ? [] : strings(p.env, `${where}.env`);
  if (typeof p.cwd !== "string" || !posix.isAbsolute(p.cwd))
    throw invalidArgument(
      `${where}.cwd must be an absolute path, not ${typeof p.cwd === "string" ? JSON.stringify(p.cwd) : kind(p.cwd)}`,
    );
  if (p.terminal !== undefined && typeof p.terminal !== "boolean")
    throw invalidArgument(`${where}.terminal must be true or false, not ${kind(p.terminal)}`);
  let total = 0;
  for (const [list, name] of [
    [args, "args"],
    [env, "env"],
  ] as const) {
    list.forEach((s, i) => {
      if (s.includes("\0"))
        throw invalidArgument(`${where}.${name}[${i}] contains a NUL byte, which execve cannot pass`);
      const bytes = utf8Length(s) + 1;
      if (bytes > MAX_ARG_STRLEN)
        throw invalidArgument(
          `${where}.${name}[${i}] is ${bytes - 1} bytes long; the kernel passes at most ${MAX_ARG_STRLEN - 1} bytes in one argument or variable`,
        );
      total += bytes + 8;
    });
  }
  env.forEach((e, i) => {
    if (e.indexOf("=") < 1)
      throw invalidArgument(`${where}.env[${i}] ${JSON.stringify(e.slice(0, 64))} is not NAME=value`);
  });
  const space = argumentSpace(p);
  if (total > space)
    throw invalidArgument(
      `${where}.args and .env take ${total} bytes; execve allows at most ${space} (a quarter of the stack limit)`,
    );
  return p as unknown as Process;
}

let filesystems: Set<string> | undefined;

/** Filesystem types this kernel has, or can load a module for, plus the bind pseudo-types. */
export function knownFilesystems(): Set<string> {
  if (filesystems) return filesystems;
  const known = new Set(["bind", "rbind", "none"]);
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  for (const line of read("/proc/filesystems").split("\n")) known.add(line.split("\t").at(-1)?.trim() ?? "");
  const release = read("/proc/sys/kernel/osrelease").trim();
  for (const m of read(`/lib/modules/${release}/modules.alias`).matchAll(/^alias fs-(\S+) /gm)) known.add(m[1]!);
  known.delete("");
  return (filesystems = known);
}

function checkMounts(v: unknown, where: string): void {
  if (!Array.isArray(v)) throw invalidArgument(`${where} must be a list, not ${kind(v)}`);
  v.forEach((m: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(m)) throw invalidArgument(`${at} must be an object, not ${kind(m)}`);
    if (typeof m.destination !== "string" || m.destination === "")
      throw invalidArgument(`${at}.destination must be a path`);
    const dest = `${at} (${m.destination.slice(0, 256)})`;
    if (m.source !== undefined && typeof m.source !== "string")
      throw invalidArgument(`${dest}.source must be a string, not ${kind(m.source)}`);
    if (m.options !== undefined) strings(m.options, `${dest}.options`);
    if (m.type === undefined || m.type === "") return;
    if (typeof m.type !== "string") throw invalidArgument(`${dest}.type must be a string, not ${kind(m.type)}`);
    if (!knownFilesystems().has(m.type))
      throw invalidArgument(`${dest}: this kernel has no filesystem type ${JSON.stringify(m.type.slice(0, 64))}`);
  });
}

/** The spec as parsed from `file`: an object whose fields the shim reads have the right shapes. */
export function checkSpec(value: unknown, file: string): Spec {
  if (!isObject(value))
    throw invalidArgument(`${file} is not an OCI runtime spec: it holds ${kind(value)}, not an object`);
  if (value.process === undefined) throw invalidArgument(`${file} has no process to run`);
  checkProcess(value.process, `${file}: process`);
  if (value.root !== undefined && (!isObject(value.root) || typeof value.root.path !== "string"))
    throw invalidArgument(`${file}: root must be an object with a path`);
  if (value.mounts !== undefined) checkMounts(value.mounts, `${file}: mounts`);
  if (value.annotations !== undefined && !isObject(value.annotations))
    throw invalidArgument(`${file}: annotations must be an object, not ${kind(value.annotations)}`);
  if (value.linux !== undefined && !isObject(value.linux))
    throw invalidArgument(`${file}: linux must be an object, not ${kind(value.linux)}`);
  return value as unknown as Spec;
}
