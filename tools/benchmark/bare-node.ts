import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
// @ts-expect-error: a build script without types
import { BASE_EXEC_ARGV, nodePackage, strippedBase } from "../sea-node-base.mjs";
import { procMem } from "./procmem.ts";
import { median, round } from "./stats.ts";

/** What an idle process of the Node the executables are made from keeps, before any of our code. */
export interface BareNode {
  processes: number;
  /** Median PSS of one of them, MB. */
  pssMb?: number;
  /** Median of their own memory (RssAnon: heap, malloc, stacks), MB. */
  anonMb?: number;
  error?: string;
}

const SETTLE_MS = 2000;

/**
 * `n` idle processes side by side of the build's own copy of Node (stripped, abseil's deadlock
 * graph off, the executables' V8 flags): the floor under each daemon, spare and runner, since
 * every task holds two such processes. Side by side so that PSS shares the binary's pages among
 * them, as it does among a node's tasks.
 */
export async function bareNode(n: number): Promise<BareNode> {
  const children: ChildProcess[] = [];
  try {
    const arch = process.arch === "arm64" ? "arm64" : "x64";
    const binary: string = strippedBase(nodePackage(arch), arch);
    for (let i = 0; i < n; i++)
      children.push(spawn(binary, [...BASE_EXEC_ARGV, "-e", "setInterval(() => {}, 1 << 30)"], { stdio: "ignore" }));
    await sleep(SETTLE_MS);
    const mems = children.map((c) => {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined)
        throw new Error(`a bare Node process exited (${c.exitCode ?? c.signalCode})`);
      return procMem(c.pid);
    });
    return {
      processes: n,
      pssMb: round(median(mems.map((m) => m.pss)) / 1024, 1),
      anonMb: round(median(mems.map((m) => m.rssAnon)) / 1024, 1),
    };
  } catch (err) {
    return { processes: n, error: (err as Error).message.slice(0, 300) };
  } finally {
    for (const c of children) c.kill("SIGKILL");
  }
}
