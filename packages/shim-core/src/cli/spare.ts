import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import { setPriority } from "node:os";
import { basename, dirname } from "node:path";
import type { Engine } from "../wasm/engine.ts";
import { SPARE_ACTION, type ShimFlags } from "./flags.ts";
import { compactHeap } from "../sea/compact-heap.ts";
import { adopt, invalid, readRequest } from "./spare-adopt.ts";
import { claimPath, claimSpare, CONTAINERD_PID_ENV, type SpareRequest } from "./spare-client.ts";
import { isNativeStart, type NativeStartRequest, planNativeStart } from "./spare-start.ts";
import { logStart, type StartPlan, writeAddress } from "./start.ts";
import { bindOrReuse, inodeAt, openLog, socketAlive, spareSocketPath, unlinkIfSame } from "./socket.ts";

/**
 * A spare daemon: the daemon's code loaded and waiting, so that containerd's next `start` hands
 * it the pod instead of booting one (a daemon's boot was the largest part of a cold start). Each
 * daemon starts one if none waits, a second after it serves or as it exits if that is sooner (not
 * at once: the spare's boot would compete with the pod's Create and Start); the spare binds its
 * control socket only once it is ready, adopts the first request, and exits as soon as its
 * containerd, its executable or its control socket is replaced. It is what `start` would spawn in
 * every respect but its code's age: argv, environment, cwd, log and priority are taken from
 * `start` when it is adopted.
 */
const WATCH_MS = 2_000;
/**
 * When a forked spare that answered for a pod served already goes on to wait as the next pod's
 * spare: before the pod's daemon would start one (a second after it serves).
 */
const SPARE_AFTER_MS = 500;
/** When a spare nobody adopted compacts its heap (an adopted one does as any daemon does). */
const SETTLE_MS = 5_000;

/**
 * Linux's nice values run from -20 to 19; the spare boots and waits at 19. Only root (or
 * CAP_SYS_NICE) may go back up once adopted, so an unprivileged spare keeps its priority.
 */
function lowerPriority(): void {
  if (process.getuid?.() === 0) setPriority(19);
}

/**
 * Set by the native `start` that forks a spare of its own when none waits (native/entry/own_spare.c):
 * the fd of its end of a socket pair, on which it sends its one request.
 */
export const START_FD_ENV = "WASM_SHIM_START_FD";

/** The `spare` action: load the daemon, then answer `start`s on the control socket, or on START_FD_ENV's fd. */
export async function runSpare(flags: ShimFlags, engine: Engine): Promise<void> {
  const startFd = Number(process.env[START_FD_ENV]);
  delete process.env[START_FD_ENV];
  if (Number.isInteger(startFd) && startFd > 2) return runOwnSpare(startFd, engine);
  await waitAsSpare(flags.socket, Number(process.env[CONTAINERD_PID_ENV]), engine);
}

/**
 * Waits at `control` as the spare of the containerd with pid `containerd`, holding the claim on it
 * (spare-spawn.ts) until it listens; exits when it cannot.
 */
async function waitAsSpare(control: string, containerd: number, engine: Engine): Promise<void> {
  lowerPriority();
  const born = startTime(containerd);
  const exe = fileIdentity("/proc/self/exe");
  const release = () => rmSync(claimPath(control), { force: true });
  if (born === undefined || !control) {
    release();
    process.exit(0);
  }
  const daemon = await import("./daemon.ts");
  // The listing the first Create would wait for (main.ts does the same for a daemon).
  await (await import("../wasm/host-libs.ts")).hostRuntime().catch(() => {});
  const server = await bindOrReuse(control).catch(() => undefined);
  release();
  if (!server) process.exit(0);
  // What loading left behind need not stay resident while the spare waits; not at once, when the
  // spare boots beside the `delete` and cleanup of the pod whose daemon started it.
  const settle = setTimeout(compactHeap, SETTLE_MS);
  settle.unref();
  const bound = inodeAt(control);
  /** Unlinks the control socket while it is this spare's: no other `start` finds this spare. */
  const closeControl = (then?: () => void) => {
    unlinkIfSame(control, bound);
    server.close(then);
  };
  // Gone with its containerd, its executable, or its socket (removed: no `start` can reach it).
  const watch = setInterval(() => {
    const same = startTime(containerd) === born && fileIdentity(process.execPath) === exe;
    if (same && inodeAt(control) === bound) return;
    closeControl(() => process.exit(0));
  }, WATCH_MS);
  const answer = answerer(engine, async () => daemon.serve, exe, {
    adopted: () => {
      clearInterval(watch);
      clearTimeout(settle);
      closeControl();
    },
    replaced: () => closeControl(() => process.exit(0)),
  });
  server.on("connection", answer);
}

/**
 * A spare forked by one `start` (its boot is on that start's path, at its priority): it answers
 * that request. It becomes the pod's daemon, or, for a pod served already (CRI starts a pod's
 * container right after its sandbox took the waiting spare), answers with the address before it
 * loads the daemon and then waits as the next pod's spare if none waits or boots: that boot is
 * then the one the daemon would have spent on a spare a second later.
 */
async function runOwnSpare(fd: number, engine: Engine): Promise<void> {
  const { Socket } = await import("node:net");
  const sock = new Socket({ fd, readable: true, writable: true });
  let next: (() => Promise<void>) | undefined;
  const loadServe = async () => {
    // As a daemon does (main.ts): the listing runs beside the load, and the first Create waits for it.
    void import("../wasm/host-libs.ts").then((m) => m.hostRuntime().catch(() => {}));
    return (await import("./daemon.ts")).serve;
  };
  const answer = answerer(engine, loadServe, fileIdentity("/proc/self/exe"), {
    adopted: () => {
      next = async () => {};
    },
    replaced: () => {},
    servedAlready: (plan, containerd) => {
      const control = spareSocketPath(dirname(plan.path), process.execPath, plan.config.address);
      // Not at once: the pod's Create and Start come now (measured through CRI, loading the
      // daemon's code beside them made StartContainer 50-80 ms longer).
      next = async () => {
        await new Promise((resolve) => setTimeout(resolve, SPARE_AFTER_MS));
        if (existsSync(control) || !claimSpare(control)) process.exit(0);
        // The command line a spawned spare has (spare-spawn.ts), which tools find spares by.
        const argv = ["-address", plan.config.address, "-socket", control, SPARE_ACTION];
        process.title = [basename(process.execPath), ...argv].join(" ");
        return waitAsSpare(control, containerd, engine);
      };
    },
  });
  sock.once("close", () => {
    if (!next) process.exit(0);
    next().catch(() => process.exit(0));
  });
  answer(sock);
}

/** What a spare does when it is adopted, and when its executable was replaced since it booted. */
interface SpareHooks {
  adopted: () => void;
  replaced: () => void;
  /** After answering a native `start` whose pod a daemon serves already; `containerd` is its parent's pid. */
  servedAlready?: (plan: StartPlan, containerd: number) => void;
}

/** Answers the `start` (Node's or the native entry's) on each connection; adopts the first it can. */
function answerer(
  engine: Engine,
  loadServe: () => Promise<Serve>,
  exe: string | undefined,
  hooks: SpareHooks,
): (sock: Socket) => void {
  let adopted = false;
  /** Becomes the pod's daemon for `request`, answering `sock` with `ok` once it serves. */
  const takeOver = (sock: Socket, request: SpareRequest, ok: () => string) => {
    const wrong = invalid(request);
    if (wrong) {
      adopted = false;
      return sock.end(`${wrong}\n`);
    }
    // Replaced since the last look: the `start` asking runs the new file.
    if (fileIdentity(process.execPath) !== exe) {
      sock.end("executable replaced\n");
      return hooks.replaced();
    }
    adopted = true;
    hooks.adopted();
    loadServe()
      .then((serve) => adopt(request, engine, serve))
      .then(
        () => {
          let reply: string;
          try {
            reply = ok();
          } catch (err) {
            // Serving already: the `start` asking finds the pod's socket alive and prints it.
            reply = `failed: ${(err as Error).message}`;
          }
          sock.end(`${reply}\n`);
        },
        // `start` reads the reason, then spawns a daemon as it would without a spare.
        (err: Error) => sock.end(`failed: ${err.message}\n`, () => process.exit(1)),
      );
  };
  /** The native entry's `start`: answered here, or refused for Node's `start` to do it all. */
  const answerNative = async (sock: Socket, request: NativeStartRequest) => {
    let planned: Awaited<ReturnType<typeof planNativeStart>>;
    try {
      planned = await planNativeStart(request);
      // A pod whose daemon serves already (a second container): the spare waits on.
      if (typeof planned !== "string" && (await socketAlive(planned.plan.path))) {
        adopted = false;
        sock.end(`address ${recordAddress(planned.plan)}\n`);
        return hooks.servedAlready?.(planned.plan, request.start.ppid);
      }
    } catch (err) {
      planned = `failed: ${(err as Error).message}`;
    }
    if (typeof planned === "string") {
      adopted = false;
      return sock.end(`${planned}\n`);
    }
    const { plan } = planned;
    takeOver(sock, planned.adopt, () => {
      if (plan.config.debug)
        logStart(openLog(plan.bundle), plan.config, "adopted a spare daemon", { pid: process.pid }, false);
      return `address ${recordAddress(plan)}`;
    });
  };
  return (sock) =>
    readRequest(sock, (request) => {
      if (adopted) return sock.end("busy\n");
      if (!isNativeStart(request)) return takeOver(sock, request, () => `ok ${process.pid}`);
      // Held while the plan is worked out: a second `start` meanwhile is told busy.
      adopted = true;
      void answerNative(sock, request);
    });
}

type Serve = typeof import("./daemon.ts").serve;

/** The pod's address, recorded in its bundle while that is there (containerd may have given up on this start). */
function recordAddress(plan: StartPlan): string {
  try {
    return writeAddress(plan);
  } catch {
    return `unix://${plan.path}`;
  }
}

/** A process's start time in clock ticks since boot: a pid reused by another process differs. */
function startTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}
