import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import type { Containerd, CtrResult } from "./containerd.ts";
import { eventually } from "./eventually.ts";
import { waitGone } from "./procfs.ts";

/** What the cases need from the suite around them (engineConformance). */
export interface CaseContext {
  runtime: string;
  ctd(): Containerd;
  /** The fixtures image. */
  image(): string;
  id(name: string): string;
  ctr(args: string[]): Promise<CtrResult>;
  taskPid(cid: string): Promise<number>;
  /** False for an engine whose guests cannot block reading a FIFO (see ConformanceOptions). */
  readsFifos: boolean;
}

/** A guest state to stop: how to start it, and how to tell it got there. */
interface GuestState {
  state: string;
  args: string[];
  /** Output that says the guest is (about to be) in that state. */
  ready: string;
  /** Written to the guest's stdin at once. */
  input?: string;
  /** Host-side set-up: extra `ctr run` flags, and how to undo it. */
  setUp?: () => HostSetUp;
  fifo?: true;
}

interface HostSetUp {
  flags: string[];
  tearDown: () => void;
}

/** A host directory with a FIFO in it, mounted at /data; `writer` keeps a writer open so the guest's open(2) returns. */
function fifoMount(writer: boolean): HostSetUp {
  const dir = mkdtempSync(join(tmpdir(), "fifo-"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  // O_RDWR on a FIFO never blocks, and counts as a writer that never writes.
  const fd = writer ? openSync(join(dir, "fifo"), constants.O_RDWR) : undefined;
  return {
    flags: ["--mount", `type=bind,src=${dir},dst=/data,options=rbind:rw`],
    tearDown: () => {
      if (fd !== undefined) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const STATES: GuestState[] = [
  { state: "spinning in a loop", args: ["/loop.wasm"], ready: "looping" },
  { state: "sleeping in poll_oneoff", args: ["/sleep.wasm", "100000000", "sleeping"], ready: "sleeping" },
  // cat-stdin says nothing until it reads: it echoes a line, then is back in fd_read.
  { state: "blocked in fd_read on stdin", args: ["/cat-stdin.wasm"], input: "ping\n", ready: "ping" },
  {
    state: "blocked in fd_read on a FIFO",
    args: ["/read-file.wasm", "/data/fifo"],
    ready: "opened",
    setUp: () => fifoMount(true),
    fifo: true,
  },
  {
    state: "inside a host call (path_open of a FIFO nobody writes)",
    args: ["/read-file.wasm", "/data/fifo"],
    ready: "opening",
    setUp: () => fifoMount(false),
    fifo: true,
  },
];

const CASES: [GuestState, NodeJS.Signals, number][] = [
  ...STATES.map((s): [GuestState, NodeJS.Signals, number] => [s, "SIGTERM", 143]),
  [STATES[1]!, "SIGINT", 130],
  [STATES[2]!, "SIGINT", 130],
  [STATES[0]!, "SIGKILL", 137],
  [STATES[3]!, "SIGKILL", 137],
];

/**
 * SIGTERM and SIGINT end a guest within 1 s whatever it is doing, with 128+signal as its status;
 * SIGKILL always does. Timed from the kill command to the guest's process being gone (ctr's own
 * clean-up of --rm after that is not the shim's).
 */
export function signalCases(c: CaseContext): void {
  for (const [guest, signal, status] of CASES.filter(([guest]) => c.readsFifos || !guest.fifo)) {
    it(`ends a guest ${guest.state} within 1 s of ${signal}, exiting ${status}`, async () => {
      const setUp = guest.setUp?.();
      try {
        const cid = c.id("signal");
        const child = c
          .ctd()
          .ctrSpawn(["run", "--rm", "--runtime", c.runtime, ...(setUp?.flags ?? []), c.image(), cid, ...guest.args]);
        let out = "";
        child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
        if (guest.input !== undefined) child.stdin?.write(guest.input);
        await eventually(async () => expect(out).toContain(guest.ready), 20_000);
        // The marker is printed just before the blocking call: give the guest time to enter it.
        await sleep(200);
        const pid = await c.taskPid(cid);
        const killed = Date.now();
        expect((await c.ctr(["task", "kill", "-s", signal, cid])).code).toBe(0);
        expect(
          await waitGone(pid, Math.max(0, killed + 1000 - Date.now())),
          `the guest was still there 1 s after ${signal}`,
        ).toBe(true);
        const [code] = (await once(child, "exit")) as [number];
        expect(code).toBe(status);
      } finally {
        setUp?.tearDown();
      }
    });
  }
}
