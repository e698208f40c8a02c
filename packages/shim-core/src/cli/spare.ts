import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, unlinkSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { setPriority } from "node:os";
import { basename, dirname } from "node:path";
import type { Logger } from "../log.ts";
import { native } from "../sea/native.ts";
import { selfCommand } from "../sea/sea.ts";
import type { Engine } from "../wasm/engine.ts";
import type { ShimFlags } from "./flags.ts";
import { fullCollection } from "./heap-trim.ts";
import { removeDeadSocket, socketAlive, spareSocketPath } from "./socket.ts";
import { adopt, invalid, readRequest } from "./spare-adopt.ts";
import { CONTAINERD_PID_ENV, sparesEnabled } from "./spare-client.ts";

/**
 * A spare daemon: the daemon's code loaded and waiting, so that containerd's next `start` hands
 * it the pod instead of booting one (a daemon's boot was the largest part of a cold start). Each
 * daemon starts one if none waits, a second after it serves or as it exits if that is sooner (not
 * at once: the spare's boot would compete with the pod's Create and Start); the spare binds its
 * control socket only once it is ready, adopts the first request, and exits as soon as its
 * containerd or its executable is replaced. It is what `start` would spawn in every respect but its code's age: argv, environment,
 * cwd, log and priority are taken from `start` when it is adopted.
 */
export const SPARE_ACTION = "spare";
const WATCH_MS = 2_000;
/** Room in the spare's argv for the daemon's command line, which the adopted spare writes over it. */
const TITLE_ROOM = 1_024;

/** The daemon of this executable for `address`'s containerd starts a spare, unless one waits. */
export async function spawnSpare(address: string, socket: string, log: Logger): Promise<void> {
  if (!address || !process.env[CONTAINERD_PID_ENV] || !sparesEnabled(process.env)) return;
  const control = spareSocketPath(dirname(socket), process.execPath, address);
  // A spare killed while it waited cannot remove its socket.
  await removeDeadSocket(control);
  if (existsSync(control) || !claim(control)) return;
  const cmd = selfCommand(["-address", address, "-socket", control, SPARE_ACTION]);
  try {
    const argv0 = basename(process.execPath).padEnd(TITLE_ROOM);
    const child = spawn(cmd.file, cmd.args, { argv0, cwd: "/", detached: true, stdio: "ignore" });
    child.unref();
    log.debug("started a spare daemon", { pid: child.pid, control });
  } catch (err) {
    rmSync(claimPath(control), { force: true });
    log.warn("no spare daemon", { error: (err as Error).message });
  }
}

/** How long a claim may stand before it is taken for a spare that died booting. */
const CLAIM_MS = 60_000;
const claimPath = (control: string) => `${control}.claim`;

/**
 * The right to start the spare, held from its spawn until it listens: when many daemons come up at
 * once (a node filling with pods), one spare boots, not one per daemon.
 */
function claim(control: string): boolean {
  const path = claimPath(control);
  try {
    closeSync(openSync(path, "wx"));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(path).mtimeMs > CLAIM_MS) unlinkSync(path);
    } catch {
      // released meanwhile
    }
    return false;
  }
}

/**
 * Linux's nice values run from -20 to 19; the spare boots and waits at 19. Only root (or
 * CAP_SYS_NICE) may go back up once adopted, so an unprivileged spare keeps its priority.
 */
export function lowerPriority(): void {
  if (process.getuid?.() === 0) setPriority(19);
}

/** The `spare` action: load the daemon, listen on the control socket, adopt the first request. */
export async function runSpare(flags: ShimFlags, engine: Engine): Promise<void> {
  const containerd = Number(process.env[CONTAINERD_PID_ENV]);
  const born = startTime(containerd);
  const exe = fileIdentity("/proc/self/exe");
  const release = () => rmSync(claimPath(flags.socket), { force: true });
  if (born === undefined || !flags.socket) {
    release();
    process.exit(0);
  }
  const daemon = await import("./daemon.ts");
  // The listing the first Create would wait for (main.ts does the same for a daemon).
  await (await import("../wasm/host-libs.ts")).hostRuntime().catch(() => {});
  // What loading left behind need not stay resident while the spare waits.
  fullCollection()?.();
  native().mallocTrim();
  const server = await bindControl(flags.socket);
  release();
  if (!server) process.exit(0);
  const watch = setInterval(() => {
    if (startTime(containerd) === born && fileIdentity(process.execPath) === exe) return;
    server.close(() => process.exit(0));
  }, WATCH_MS);
  let adopted = false;
  server.on("connection", (sock) =>
    readRequest(sock, (request) => {
      if (adopted) return sock.end("busy\n");
      const wrong = invalid(request);
      if (wrong) return sock.end(`${wrong}\n`);
      // Replaced since the last look: the `start` asking runs the new file.
      if (fileIdentity(process.execPath) !== exe) {
        sock.end("executable replaced\n");
        return server.close(() => process.exit(0));
      }
      adopted = true;
      clearInterval(watch);
      // Closing unlinks the control socket: no other `start` finds this spare.
      server.close();
      adopt(request, engine, daemon.serve).then(
        () => sock.end(`ok ${process.pid}\n`),
        (err: Error) => {
          sock.end(`failed: ${err.message}\n`);
          process.exit(1);
        },
      );
    }),
  );
}

async function bindControl(path: string): Promise<Server | undefined> {
  if (await socketAlive(path)) return undefined;
  const server = createServer();
  try {
    unlinkSync(path);
  } catch {
    // none left by a killed spare
  }
  return new Promise((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen({ path }, () => resolve(server));
  });
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
