import { readdirSync } from "node:fs";
import type { Socket } from "node:net";
import { setPriority } from "node:os";
import { selfCommand } from "../sea/sea.ts";
import type { Engine } from "../wasm/engine.ts";
import { parseFlags } from "./flags.ts";
import { bindOrReuse, openLog } from "./socket.ts";
import type { SpareRequest } from "./spare-client.ts";

// How a spare daemon (spare.ts) takes over from `start`: the request, checked, and the daemon
// `start` would have spawned made of the waiting process.

export function readRequest(sock: Socket, onRequest: (request: SpareRequest) => void): void {
  let text = "";
  sock.setEncoding("utf8");
  sock.on("error", () => {});
  sock.on("data", (chunk: string) => {
    text += chunk;
    const nl = text.indexOf("\n");
    if (nl < 0) return;
    sock.removeAllListeners("data");
    try {
      onRequest(JSON.parse(text.slice(0, nl)) as SpareRequest);
    } catch {
      sock.end("malformed request\n");
    }
  });
}

/** Why a request is not one `start` sends (it is refused, and the spare waits on), if it is not. */
export function invalid(request: SpareRequest): string | undefined {
  const { argv, env, priority } = request as Partial<SpareRequest>;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) return "argv is not a list of strings";
  const flags = parseFlags(argv);
  if (flags.action !== "serve" || !flags.socket || !flags.bundle) return "argv is not a daemon's";
  if (typeof env !== "object" || env === null || !Object.values(env).every((v) => typeof v === "string"))
    return "env is not an object of strings";
  if (!Number.isInteger(priority) || priority! < -20 || priority! > 19) return "priority is not a nice value";
  return undefined;
}

type Serve = typeof import("./daemon.ts").serve;

/** Becomes the daemon `start` would have spawned with `request.argv` and `request.env`. */
export async function adopt(request: SpareRequest, engine: Engine, serve: Serve): Promise<void> {
  const flags = parseFlags(request.argv);
  restorePriority(request.priority);
  for (const key of Object.keys(process.env)) if (!(key in request.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  try {
    process.chdir(flags.bundle);
  } catch {
    // containerd may already have removed it; the daemon needs no cwd
  }
  const log = openLog(flags.bundle);
  await serve(flags, engine, {
    ...(log === "ignore" ? {} : { logFd: log }),
    listen: async (server) => {
      const bound = await bindOrReuse(flags.socket);
      if (!bound) throw new Error(`${flags.socket} is served already`);
      // What `ps` shows and what tools look for: the command line `start` would have given it.
      // Only once the pod's socket is this process's: a tool that finds the daemon by it (the
      // fault tests freeze it) must not find one that a late `start` may still replace.
      const cmd = selfCommand(request.argv);
      process.title = [cmd.file, ...cmd.args].join(" ");
      server.serveListening(bound);
    },
  });
}

/** Every thread's: those the spare started while it waited run at its lowest priority too. */
function restorePriority(priority: number): void {
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      setPriority(Number(tid), priority);
    } catch {
      // a thread that just ended
    }
  }
}
