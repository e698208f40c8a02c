import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Containerd, type CtrResult } from "./containerd.ts";
import { shimBinaryDir } from "./conformance.ts";
import { criNamespace, CriNode } from "./cri-node.ts";
import { ContainerState } from "./cri-client.ts";
import { eventually } from "./eventually.ts";
import { parseSnoop, violations } from "./snoop.ts";
import {
  escapeRef,
  expectations,
  imageFiles,
  makeVolume,
  snoopRef,
  tenantRef,
  WALK_TIMEOUT,
  writeImages,
  type IsolationOptions,
} from "./isolation-setup.ts";

export type { IsolationOptions } from "./isolation-setup.ts";

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
  const snoop = (name: string, args: string[], extra: string[] = []) =>
    ctr(["run", "--rm", "--runtime", runtime, ...mount(), ...extra, snoopRef, id(name), "/snoop.wasm", ...args]);
  const contained = async (res: CtrResult, allowed = [...imageFiles, "/data/note.txt"]) => {
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const report = parseSnoop(res.stdout);
    // The walk really read files: its image's and its volume's, at least.
    expect(report.contents.map((c) => c.path)).toEqual(expect.arrayContaining(["/etc/motd", "/data/note.txt"]));
    return violations(report, await expectations(opts, allowed));
  };

  describe(`${runtime}: a guest sees only its own image and mounts`, () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "isolation-"));
      volume = makeVolume(dir, marker);
      const tarballs = await writeImages(dir, opts);
      ctd = await Containerd.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}) });
      for (const t of Object.values(tarballs)) await ctd.importImage(t);
      // The other tenant runs first, so that its files (for jco: its cache entry) exist on the node.
      expect(await ctr(["run", "--rm", "--runtime", runtime, tenantRef, id("tenant")])).toMatchObject({
        code: 0,
        stdout: "hello from wasm\n",
      });
    });

    afterAll(async () => {
      await ctd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    afterEach(async () => {
      await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
    }, WALK_TIMEOUT);

    it(
      "walks its whole container and finds nothing of the runner, the host or another tenant",
      async () => {
        expect(await contained(await snoop("walk", ["walk"]))).toEqual([]);
      },
      WALK_TIMEOUT,
    );

    it(
      "finds nothing either as a Wasm command exec'd into the running container",
      async () => {
        const cid = id("exec");
        expect(
          (await ctr(["run", "-d", "--runtime", runtime, ...mount(), snoopRef, cid, "/sleep.wasm", "100000000"])).code,
        ).toBe(0);
        await eventually(async () =>
          expect((await ctr(["task", "ls"])).stdout).toMatch(new RegExp(`${cid}\\s+\\d+\\s+RUNNING`)),
        );
        try {
          const res = await ctr(["task", "exec", "--exec-id", "snoop", cid, "/snoop.wasm", "walk"]);
          expect(await contained(res)).toEqual([]);
        } finally {
          await ctd.removeContainer(cid);
        }
      },
      WALK_TIMEOUT,
    );

    it(
      "follows a volume's symlinks to / and ../../.. into its own root, never the host's",
      async () => {
        const res = await snoop("links", ["ls", "/", "/data/root", "/data/up", "/data/parent"]);
        expect(res.code).toBe(0);
        const listings = parseSnoop(res.stdout).listings;
        // An engine may refuse a link that leaves the volume (an error line, no listing); one that
        // follows it must land in the container's root, as the kernel would for a native process.
        const own = listings["/"];
        const hostOnly = readdirSync("/").filter(
          (n) => !["dev", "proc", "sys", "run", "etc", "data", "tmp"].includes(n),
        );
        for (const link of ["/data/root", "/data/up", "/data/parent"]) {
          const seen = listings[link];
          if (seen === undefined) continue;
          expect(seen).toEqual(expect.arrayContaining(["snoop.wasm", "data"]));
          expect(seen.filter((n) => hostOnly.includes(n))).toEqual([]);
          // The container's root as a native process sees it: the guest's own, plus kernel trees an engine may hide.
          if (own)
            expect(seen.filter((n) => !own.includes(n) && !["proc", "sys", "dev", "run"].includes(n))).toEqual([]);
        }
        const cat = await snoop("secret", [
          "cat",
          "/data/parent/SECRET.txt",
          "/data/up/SECRET.txt",
          "/data/root/SECRET.txt",
          "/data/parent/vol/SECRET.txt",
          "/data/up/etc/motd",
        ]);
        expect(cat.stdout).not.toContain(marker);
        const reads = cat.stdout.split("\n").filter((l) => l.startsWith("R "));
        expect(reads).toHaveLength(5);
        // The only file behind those links is the image's own /etc/motd, where the kernel leads.
        for (const line of reads.slice(0, 4)) expect(line).toMatch(/ error \d+$/);
        expect(reads[4]).toMatch(/^R \/data\/up\/etc\/motd (error \d+|\d+ [0-9a-f]{16} the image's own file)$/);
      },
      WALK_TIMEOUT,
    );

    it(
      "reaches nothing outside through paths with .. against its preopens",
      async () => {
        const res = await snoop(
          "dotdot",
          [
            "cat",
            "../SECRET.txt",
            "../../SECRET.txt",
            "../../../../../../SECRET.txt",
            "/../../SECRET.txt",
            "../../config.json",
            "/data/../../config.json",
          ],
          ["--cwd", "/data"],
        );
        expect(res.code).toBe(0);
        expect(res.stdout).not.toContain(marker);
        expect(res.stdout).not.toContain("ociVersion");
        for (const path of ["..", "../..", "../SECRET.txt", "../../SECRET.txt", "../../../config.json"]) {
          const raw = await snoop("raw", ["raw", path], ["--cwd", "/data"]);
          expect(raw.code).toBe(0);
          expect(raw.stdout).not.toContain(marker);
          // Each preopen either refuses the path or resolves it inside the container (where these files do not exist).
          for (const line of raw.stdout.split("\n").filter((l) => l.startsWith("W ")))
            expect(line).toMatch(/ error \d+$|^W \d+ \S+ \.\.(\/\.\.)? /);
        }
      },
      WALK_TIMEOUT,
    );

    it(
      "refuses an entrypoint that is a symlink out of its rootfs, and runs one that climbs back inside",
      async () => {
        for (const entry of ["/self-exe", "/host-sh"]) {
          const res = await ctr(["run", "--rm", "--runtime", runtime, escapeRef, id("escape"), entry]);
          expect(res.code).not.toBe(0);
          expect(res.stderr).toMatch(new RegExp(`entrypoint ${entry} .*(does not exist|not found)`));
        }
        const res = await ctr([
          "run",
          "--rm",
          "--runtime",
          runtime,
          escapeRef,
          id("climbs"),
          "/climbs",
          "cat",
          "/snoop.wasm",
        ]);
        expect(res).toMatchObject({ code: 0, stdout: expect.stringMatching(/^R \/snoop\.wasm \d+ [0-9a-f]{16} /) });
      },
      WALK_TIMEOUT,
    );
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
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: { [handler]: { type: `io.containerd.${opts.engine}.v1` } },
      });
      for (const t of [tarballs.snoop, tarballs.tenant]) await node.ctd.importImage(t, criNamespace);
    });

    afterAll(async () => {
      for (const pod of [...(node?.pods ?? [])]) await pod.remove().catch(() => undefined);
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      "walks its container in a pod beside another tenant and finds nothing it should not",
      async () => {
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
        expect(
          violations(report, await expectations(opts, [...imageFiles, ...criFiles], ["/dev/termination-log"])),
        ).toEqual([]);
        await pod.remove();
        await eventually(async () => expect(await node.leftovers()).toEqual([]));
      },
      WALK_TIMEOUT,
    );
  });
}
