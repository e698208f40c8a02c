import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";

export interface CtrOptions {
  namespace?: string;
  input?: string;
  timeoutMs?: number;
}

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function spawnCtr(target: { socket: string; namespace: string }, args: string[]): ChildProcess {
  // Without --connect-timeout ctr waits forever when the socket does not exist.
  const global = ["--address", target.socket, "--connect-timeout", "5s", "--namespace", target.namespace];
  // A clean env keeps CONTAINERD_* variables of the caller from changing what ctr does.
  return spawn("ctr", [...global, ...args], { stdio: "pipe", env: { PATH: systemPath } });
}

/** Runs ctr to completion. A non-zero exit resolves (callers decide); a timeout rejects. */
export function runCtr(
  target: { socket: string; namespace: string },
  args: string[],
  opts: CtrOptions,
): Promise<CtrResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawnCtr(target, args);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => out.push(d));
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`ctr ${args.join(" ")} timed out after ${timeoutMs} ms; stderr: ${Buffer.concat(err).toString()}`),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const status = code ?? 128 + (signal ? constants.signals[signal] : 0);
      resolve({ code: status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(opts.input ?? "");
  });
}
