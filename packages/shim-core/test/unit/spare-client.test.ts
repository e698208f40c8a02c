import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cmdlineArgv } from "@wasm-shims/test-lab/procfs.ts";
import {
  adoptSpare,
  claimPath,
  spareReady,
  sparesEnabled,
  takeFile,
  type SpareRequest,
} from "../../src/cli/spare-client.ts";

const request: SpareRequest = { argv: ["-id", "a", "serve"], env: { TTRPC_ADDRESS: "/x" }, priority: 0 };
const dirs: string[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in spare at a fresh path that answers each connection with `answer(requestLine, socket)`. */
async function spare(answer: (line: string, sock: Socket) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "spare-client-"));
  dirs.push(dir);
  const path = join(dir, "control");
  const server = createServer((sock) => {
    let text = "";
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) answer(text.slice(0, text.indexOf("\n")), sock);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

describe("sparesEnabled", () => {
  it("is on unless containerd's environment turns it off or sets NODE_OPTIONS", () => {
    expect(sparesEnabled({})).toBe(true);
    expect(sparesEnabled({ WASM_SHIM_SPARE: "1" })).toBe(true);
    for (const off of ["0", "off", "OFF", "false"]) expect(sparesEnabled({ WASM_SHIM_SPARE: off })).toBe(false);
    expect(sparesEnabled({ NODE_OPTIONS: "--max-old-space-size=64" })).toBe(false);
  });
});

describe("adoptSpare", () => {
  it("sends the request as one JSON line and returns the pid the spare answers with", async () => {
    let got: unknown;
    const path = await spare((line, sock) => {
      got = JSON.parse(line);
      sock.end("ok 4242\n");
    });
    expect(await adoptSpare(path, request)).toEqual({ pid: 4242 });
    expect(got).toEqual(request);
  });

  it("is refused, with the reason, when there is no spare, it refuses, or it closes without an answer", async () => {
    expect(await adoptSpare("/nonexistent/control", request)).toEqual({ refused: "ENOENT" });
    expect(await adoptSpare(await spare((_, sock) => sock.end("busy\n")), request)).toEqual({ refused: "busy" });
    expect(await adoptSpare(await spare((_, sock) => sock.end()), request)).toEqual({
      refused: "closed without an answer",
    });
  });

  it("gives up on a spare that does not answer in time", async () => {
    const path = await spare(() => {});
    expect(await adoptSpare(path, request, 100)).toEqual({ refused: "no answer in 100 ms" });
  });
});

describe("cmdlineArgv", () => {
  it("splits /proc's NUL-separated argv, and the one string of a process that set its title", () => {
    expect(cmdlineArgv("shim\0-id\0a\0serve\0")).toEqual(["shim", "-id", "a", "serve"]);
    expect(cmdlineArgv(`shim -namespace n -id a serve${"\0".repeat(40)}`)).toEqual([
      "shim",
      "-namespace",
      "n",
      "-id",
      "a",
      "serve",
    ]);
    expect(cmdlineArgv(`${"containerd-shim-node-v1".padEnd(60)}\0-socket\0/s\0spare\0`).at(-1)).toBe("spare");
  });
});

describe("spareReady", () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "spare-ready-"));
    dirs.push(dir);
    return join(dir, "control");
  };
  /** Whether the control socket was there when spareReady returned, with the socket made after `ms`. */
  const thereAtReturn = async (control: string, ms: number, budgetMs: number) => {
    const listening = new Promise<void>((resolve) =>
      setTimeout(() => {
        const server = createServer();
        servers.push(server);
        server.listen(control, resolve);
      }, ms),
    );
    await spareReady(control, budgetMs);
    const there = existsSync(control);
    await listening;
    return there;
  };

  it("waits for a spare that is booting (its claim stands) until it listens", async () => {
    const control = fresh();
    writeFileSync(claimPath(control), "");
    expect(await thereAtReturn(control, 40, 5_000)).toBe(true);
  });

  it("does not wait without a claim, for a claim older than a boot, or beyond its budget", async () => {
    expect(await thereAtReturn(fresh(), 150, 5_000)).toBe(false);
    const stale = fresh();
    writeFileSync(claimPath(stale), "");
    utimesSync(claimPath(stale), new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
    expect(await thereAtReturn(stale, 150, 5_000)).toBe(false);
    const slow = fresh();
    writeFileSync(claimPath(slow), "");
    expect(await thereAtReturn(slow, 1_000, 20)).toBe(false);
  });

  it("lets one start wait for the spare, not every one of a burst", async () => {
    const control = fresh();
    writeFileSync(claimPath(control), "");
    const waiting = spareReady(control, 5_000);
    expect(await thereAtReturn(control, 150, 5_000)).toBe(false);
    await waiting;
    expect(existsSync(`${control}.waiter`)).toBe(false);
  });
});

describe("takeFile", () => {
  it("gives the right to one holder, and takes over one a dead holder left past its age", () => {
    const dir = mkdtempSync(join(tmpdir(), "take-file-"));
    dirs.push(dir);
    const path = join(dir, "claim");
    expect(takeFile(path, 60_000)).toBe(true);
    expect(takeFile(path, 60_000)).toBe(false);
    utimesSync(path, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    expect(takeFile(path, 60_000)).toBe(true);
    expect(takeFile(path, 60_000)).toBe(false);
  });
});
