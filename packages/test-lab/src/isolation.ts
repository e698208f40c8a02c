import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildPrograms, ensureFixtures, fixturePath, programPath, writeOciImage } from "@wasm-shims/test-fixtures";
import { hostRuntime } from "@wasm-shims/shim-core/src/wasm/host-libs.ts";
import { Containerd, type CtrResult } from "./containerd.ts";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { criNamespace, CriNode } from "./cri-node.ts";
import { ContainerState } from "./cri-client.ts";
import { eventually } from "./eventually.ts";
import { forbiddenFiles, parseSnoop, violations, type Expectations } from "./snoop.ts";

export interface IsolationOptions extends ConformanceOptions {
  /** Host directories the engine keeps for itself (a transpile cache): nothing in them may be seen. */
  privateDirs?: string[];
  /** Files the engine's own file system shows every guest (not the host's), for a guest started as `path`. */
  engineFiles?: (path: string) => string[];
  /**
   * Makes the engine's own kind of module of a preview1 one (jco: a component, with the preview1
   * adapter), so the snoop and the other tenant run as that: each with its own cache entry.
   */
  component?: (module: Uint8Array) => Promise<Uint8Array>;
}

const snoopRef = "localhost/snoop:test";
/** A walk through an engine that shows a volume's links to "/" as directories takes a while. */
const WALK_TIMEOUT = 240_000;
const tenantRef = "localhost/other-tenant:test";
const escapeRef = "localhost/escapes:test";
/** The image's regular files: a guest may find these and its mounts' files, nothing else. */
const imageFiles = ["/snoop.wasm", "/sleep.wasm", "/etc/motd"];

async function writeImages(dir: string, opts: IsolationOptions): Promise<{ snoop: string; tenant: string; escapes: string }> {
  await buildPrograms();
  await ensureFixtures();
  const own = async (file: string) => {
    const bytes = new Uint8Array(await readFile(file));
    return opts.component ? opts.component(bytes) : bytes;
  };
  const snoop = { path: "/snoop.wasm", content: await own(programPath("snoop-c")), mode: 0o755 };
  const tarballs = { snoop: join(dir, "snoop.tar"), tenant: join(dir, "tenant.tar"), escapes: join(dir, "escapes.tar") };
  await writeOciImage(tarballs.snoop, {
    ref: snoopRef,
    files: [snoop, { path: "/sleep.wasm", source: fixturePath("sleep"), mode: 0o755 }, { path: "/etc/motd", content: new TextEncoder().encode("the image's own file\n"), mode: 0o644 }],
    dirs: ["/data"],
    entrypoint: ["/snoop.wasm"],
    env: ["PATH=/"],
    os: "wasip1",
    architecture: "wasm",
  });
  // Another workload on the same node, whose files (and jco cache entry) the snoop must not find.
  await writeOciImage(tarballs.tenant, { ref: tenantRef, files: [{ path: "/hello.wasm", content: await own(fixturePath("hello")), mode: 0o755 }], entrypoint: ["/hello.wasm"], os: "wasip1", architecture: "wasm" });
  // Entrypoints that are symlinks out of the rootfs; one that climbs but lands back inside it.
  await writeOciImage(tarballs.escapes, {
    ref: escapeRef,
    files: [snoop],
    symlinks: [
      { path: "/self-exe", target: "/proc/self/exe" },
      { path: "/host-sh", target: "../../bin/sh" },
      { path: "/climbs", target: "../../../snoop.wasm" },
    ],
    entrypoint: ["/snoop.wasm"],
    os: "wasip1",
    architecture: "wasm",
  });
  return tarballs;
}

/** A volume whose symlinks point at "/" and up, and host secrets just outside it and the rootfs. */
function makeVolume(dir: string, marker: string): string {
  const vol = join(dir, "vol");
  mkdirSync(join(vol, "data"), { recursive: true });
  writeFileSync(join(vol, "data", "note.txt"), "in the volume\n");
  symlinkSync("/", join(vol, "data", "root"));
  symlinkSync("../../..", join(vol, "data", "up"));
  symlinkSync("..", join(vol, "data", "parent"));
  writeFileSync(join(vol, "SECRET.txt"), `${marker}\n`);
  writeFileSync(join(dir, "SECRET.txt"), `${marker}\n`);
  return join(vol, "data");
}

/** What the guest must never see on this node: the runner's files, the host's, other tenants'. */
function expectations(opts: IsolationOptions, allowedFiles: string[], allowedDevFiles: string[] = [], guest = "/snoop.wasm"): Expectations {
  const binary = join(shimBinaryDir(opts), `containerd-shim-${opts.engine}-v1`);
  const host = hostRuntime(binary);
  const assetDirs = readdirSync("/run/containerd-shim-assets").filter((d) => d.startsWith(`containerd-shim-${opts.engine}-v1-`)).map((d) => join("/run/containerd-shim-assets", d));
  const privateDirs = opts.privateDirs ?? [];
  const privateNames = privateDirs.flatMap((d) => readdirSync(d).filter((n) => !n.startsWith(".")));
  return {
    // The volume's links to "/" lead into the container's own root (engines that follow them).
    rootAliases: ["/data/root", "/data/up", "/data/parent"],
    allowedFiles: [...allowedFiles, ...(opts.engineFiles?.(guest) ?? [])],
    allowedDevFiles,
    forbidden: forbiddenFiles([host.loader, host.binary, ...host.libs, ...assetDirs, ...privateDirs]),
    forbiddenNames: [
      ".wasm-shim",
      "wasm-shim-ro-",
      "containerd-shim-assets",
      `containerd-shim-${opts.engine}-v1`,
      ...[host.loader, ...host.libs].map((f) => basename(f)),
      ...assetDirs.flatMap((d) => readdirSync(d)),
      ...privateDirs,
      ...privateNames,
    ],
  };
}

/**
 * A guest sees its image, its mounts and the standard /dev, /proc and /sys, and nothing else: no
 * file of the runner, of the host, of another tenant, through any path, symlink or /proc link.
 * Each engine package calls this from its own test file; the snooping guest is snoop.c.
 */
export function engineIsolation(opts: IsolationOptions): void {
  const runtime = `io.containerd.${opts.engine}.v1`;
  const marker = `HOST-SECRET-${randomUUID()}`;
  let ctd: Containerd;
  let dir: string;
  let volume: string;
  let seq = 0;
  const id = (name: string) => `${opts.engine}-iso-${name}-${process.pid}-${++seq}`;
  const ctr = (args: string[]): Promise<CtrResult> => ctd.ctr(args, { timeoutMs: WALK_TIMEOUT - 30_000 });
  const mount = () => ["--mount", `type=bind,src=${volume},dst=/data,options=rbind:rw`];
  const snoop = (name: string, args: string[], extra: string[] = []) => ctr(["run", "--rm", "--runtime", runtime, ...mount(), ...extra, snoopRef, id(name), "/snoop.wasm", ...args]);
  const contained = (res: CtrResult, allowed = [...imageFiles, "/data/note.txt"]) => {
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const report = parseSnoop(res.stdout);
    // The walk really read files: its image's and its volume's, at least.
    expect(report.contents.map((c) => c.path)).toEqual(expect.arrayContaining(["/etc/motd", "/data/note.txt"]));
    return violations(report, expectations(opts, allowed));
  };

  describe(`${runtime}: a guest sees only its own image and mounts`, () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "isolation-"));
      volume = makeVolume(dir, marker);
      const tarballs = await writeImages(dir, opts);
      ctd = await Containerd.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}) });
      for (const t of Object.values(tarballs)) await ctd.importImage(t);
      // The other tenant runs first, so that its files (for jco: its cache entry) exist on the node.
      expect(await ctr(["run", "--rm", "--runtime", runtime, tenantRef, id("tenant")])).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    });

    afterAll(async () => {
      await ctd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    afterEach(async () => {
      await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
    }, WALK_TIMEOUT);

    it("walks its whole container and finds nothing of the runner, the host or another tenant", async () => {
      expect(contained(await snoop("walk", ["walk"]))).toEqual([]);
    }, WALK_TIMEOUT);

    it("finds nothing either as a Wasm command exec'd into the running container", async () => {
      const cid = id("exec");
      expect((await ctr(["run", "-d", "--runtime", runtime, ...mount(), snoopRef, cid, "/sleep.wasm", "100000000"])).code).toBe(0);
      await eventually(async () => expect((await ctr(["task", "ls"])).stdout).toMatch(new RegExp(`${cid}\\s+\\d+\\s+RUNNING`)));
      try {
        const res = await ctr(["task", "exec", "--exec-id", "snoop", cid, "/snoop.wasm", "walk"]);
        expect(contained(res)).toEqual([]);
      } finally {
        await ctd.removeContainer(cid);
      }
    }, WALK_TIMEOUT);

    it("follows a volume's symlinks to / and ../../.. into its own root, never the host's", async () => {
      const res = await snoop("links", ["ls", "/", "/data/root", "/data/up", "/data/parent"]);
      expect(res.code).toBe(0);
      const listings = parseSnoop(res.stdout).listings;
      // An engine may refuse a link that leaves the volume (an error line, no listing); one that
      // follows it must land in the container's root, as the kernel would for a native process.
      const own = listings["/"];
      const hostOnly = readdirSync("/").filter((n) => !["dev", "proc", "sys", "run", "etc", "data", "tmp"].includes(n));
      for (const link of ["/data/root", "/data/up", "/data/parent"]) {
        const seen = listings[link];
        if (seen === undefined) continue;
        expect(seen).toEqual(expect.arrayContaining(["snoop.wasm", "data"]));
        expect(seen.filter((n) => hostOnly.includes(n))).toEqual([]);
        // The container's root as a native process sees it: the guest's own, plus kernel trees an engine may hide.
        if (own) expect(seen.filter((n) => !own.includes(n) && !["proc", "sys", "dev", "run"].includes(n))).toEqual([]);
      }
      const cat = await snoop("secret", ["cat", "/data/parent/SECRET.txt", "/data/up/SECRET.txt", "/data/root/SECRET.txt", "/data/parent/vol/SECRET.txt", "/data/up/etc/motd"]);
      expect(cat.stdout).not.toContain(marker);
      const reads = cat.stdout.split("\n").filter((l) => l.startsWith("R "));
      expect(reads).toHaveLength(5);
      // The only file behind those links is the image's own /etc/motd, where the kernel leads.
      for (const line of reads.slice(0, 4)) expect(line).toMatch(/ error \d+$/);
      expect(reads[4]).toMatch(/^R \/data\/up\/etc\/motd (error \d+|\d+ [0-9a-f]{16} the image's own file)$/);
    }, WALK_TIMEOUT);

    it("reaches nothing outside through paths with .. against its preopens", async () => {
      const res = await snoop("dotdot", ["cat", "../SECRET.txt", "../../SECRET.txt", "../../../../../../SECRET.txt", "/../../SECRET.txt", "../../config.json", "/data/../../config.json"], ["--cwd", "/data"]);
      expect(res.code).toBe(0);
      expect(res.stdout).not.toContain(marker);
      expect(res.stdout).not.toContain("ociVersion");
      for (const path of ["..", "../..", "../SECRET.txt", "../../SECRET.txt", "../../../config.json"]) {
        const raw = await snoop("raw", ["raw", path], ["--cwd", "/data"]);
        expect(raw.code).toBe(0);
        expect(raw.stdout).not.toContain(marker);
        // Each preopen either refuses the path or resolves it inside the container (where these files do not exist).
        for (const line of raw.stdout.split("\n").filter((l) => l.startsWith("W "))) expect(line).toMatch(/ error \d+$|^W \d+ \S+ \.\.(\/\.\.)? /);
      }
    }, WALK_TIMEOUT);

    it("refuses an entrypoint that is a symlink out of its rootfs, and runs one that climbs back inside", async () => {
      for (const entry of ["/self-exe", "/host-sh"]) {
        const res = await ctr(["run", "--rm", "--runtime", runtime, escapeRef, id("escape"), entry]);
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(new RegExp(`entrypoint ${entry} .*(does not exist|not found)`));
      }
      const res = await ctr(["run", "--rm", "--runtime", runtime, escapeRef, id("climbs"), "/climbs", "cat", "/snoop.wasm"]);
      expect(res).toMatchObject({ code: 0, stdout: expect.stringMatching(/^R \/snoop\.wasm \d+ [0-9a-f]{16} /) });
    }, WALK_TIMEOUT);
  });
}

/** The same walk in a CRI pod, beside the pod's own files (/etc/hosts, /etc/resolv.conf …). */
export function criIsolation(opts: IsolationOptions): void {
  const handler = `wasm-${opts.engine}`;
  let node: CriNode;
  let dir: string;

  describe(`CRI pod with handler ${handler}: a guest sees only its own image and mounts`, () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "isolation-cri-"));
      const tarballs = await writeImages(dir, opts);
      node = await CriNode.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}), runtimes: { [handler]: { type: `io.containerd.${opts.engine}.v1` } } });
      for (const t of [tarballs.snoop, tarballs.tenant]) await node.ctd.importImage(t, criNamespace);
    });

    afterAll(async () => {
      for (const pod of [...(node?.pods ?? [])]) await pod.remove().catch(() => undefined);
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("walks its container in a pod beside another tenant and finds nothing it should not", async () => {
      const pod = await node.runPod("snoop", handler);
      const tenant = await pod.create({ name: "tenant", image: tenantRef });
      await node.cri.runtime.startContainer({ containerId: tenant });
      expect((await pod.waitState(tenant, ContainerState.CONTAINER_EXITED, 60_000)).exitCode).toBe(0);
      const guest = await pod.create({ name: "snoop", image: snoopRef, command: ["/snoop.wasm", "walk"] });
      await node.cri.runtime.startContainer({ containerId: guest });
      const status = await pod.waitState(guest, ContainerState.CONTAINER_EXITED, WALK_TIMEOUT - 60_000);
      expect(status.exitCode).toBe(0);
      const out = pod
        .log("snoop")
        .filter((l) => l.stream === "stdout")
        .map((l) => l.text)
        .join("\n");
      const criFiles = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];
      const report = parseSnoop(out);
      expect(report.contents.map((c) => c.path)).toContain("/etc/motd");
      expect(violations(report, expectations(opts, [...imageFiles, ...criFiles], ["/dev/termination-log"]))).toEqual([]);
      await pod.remove();
      await eventually(async () => expect(await node.leftovers()).toEqual([]));
    }, WALK_TIMEOUT);
  });
}
