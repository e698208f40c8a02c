import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildCorpusImages, corpusImageRefs, programInImage } from "@wasm-shims/test-fixtures";
import { shimBinaryDir, type ConformanceOptions } from "../conformance.ts";
import { Containerd } from "../containerd.ts";
import { CriNode, criNamespace, type Pod } from "../cri-node.ts";
import { eventually } from "../eventually.ts";
import type { CorpusCase } from "./cases.ts";
import { runWithCri, runWithCtr } from "./clients.ts";
import type { CaseOutput } from "./reference.ts";
import { casesFor, judgeCase, type Client } from "./run-corpus.ts";

export interface CorpusOptions extends ConformanceOptions {
  /** The engine runs WASI 0.2 components (jco); the others must refuse them at Create. */
  components?: boolean;
}

const CASE_TIMEOUT = 300_000;

/** A case must pass, or, when it is a known failure, still fail (so a fix is noticed and recorded). */
async function judge(opts: CorpusOptions, c: CorpusCase, client: Client, out: CaseOutput): Promise<void> {
  const r = await judgeCase(opts.engine, c, client, out);
  const context = `stdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-3000)}`;
  if (r.known)
    expect(
      r.problems,
      `${c.id} now passes on ${opts.engine} through ${client}: remove it from corpus/known-failures.ts\n${context}`,
    ).not.toEqual([]);
  else expect(r.problems, context).toEqual([]);
}

/**
 * The corpus of real programs (test-fixtures' corpus: C, Rust, a JS component, Yosys from npm)
 * through one engine, with ctr and with the CRI client, each run compared with the same module
 * under node:wasi on the host. Each engine package calls this from its own test file.
 */
export function corpusConformance(opts: CorpusOptions): void {
  const runtime = `io.containerd.${opts.engine}.v1`;
  let seq = 0;
  const id = (c: CorpusCase) => `corpus-${opts.engine}-${c.program}-${process.pid}-${++seq}`;

  describe(`the corpus through ${runtime} with ctr`, () => {
    let ctd: Containerd;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "corpus-images-"));
      ctd = await Containerd.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}) });
      for (const image of Object.values(await buildCorpusImages(dir))) await ctd.importImage(image.tarball);
    }, CASE_TIMEOUT);
    afterAll(async () => {
      await ctd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    afterEach(async () => {
      await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
    });

    for (const c of casesFor(opts, "ctr")) {
      it(c.id, async () => judge(opts, c, "ctr", await runWithCtr(ctd, runtime, c, id(c))), CASE_TIMEOUT);
    }

    // `ctr run -d` without a log URI returns after Start and takes its FIFO readers with it. Rust's
    // println! panics on a failed write: so a program went down (status 1) at its first line
    // after ctr had gone, where a runc container goes on (the shim now holds readers of its own).
    it("lets a detached program write after ctr has returned (run -d, no log)", async () => {
      const name = `corpus-${opts.engine}-detached-${process.pid}`;
      const args = [programInImage("tour-rust"), "clock", "1500"];
      const run = await ctd.ctr(["run", "-d", "--runtime", runtime, corpusImageRefs.workdir, name, ...args]);
      expect(run.code, run.stderr).toBe(0);
      await eventually(async () => {
        expect((await ctd.ctr(["task", "ls"])).stdout).toMatch(new RegExp(`^${name}\\s+\\d+\\s+STOPPED`, "m"));
      }, 60_000);
      // ctr 1.6 reports a task's non-zero status when it deletes it, as a warning.
      const removed = await ctd.ctr(["task", "delete", name]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stderr).not.toMatch(/non-zero exit code/);
      await ctd.removeContainer(name);
    });

    if (!opts.components) {
      it("refuses a WASI 0.2 component at Create with an error that says so", async () => {
        const res = await ctd.ctr(
          [
            "run",
            "--rm",
            "--runtime",
            runtime,
            corpusImageRefs.workdir,
            `corpus-${opts.engine}-component-${process.pid}`,
            programInImage("tour-js"),
          ],
          { timeoutMs: 60_000 },
        );
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/\/bin\/tour-js\.wasm is a WebAssembly component/);
      });
    }
  });

  describe(`the corpus through ${runtime} with the CRI client`, () => {
    let node: CriNode;
    let pod: Pod;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "corpus-cri-images-"));
      const handler = `wasm-${opts.engine}`;
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: { [handler]: { type: runtime } },
      });
      for (const image of Object.values(await buildCorpusImages(dir)))
        await node.ctd.importImage(image.tarball, criNamespace);
      pod = await node.runPod("corpus", handler);
    }, CASE_TIMEOUT);
    afterAll(async () => {
      await pod?.remove();
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const c of casesFor(opts, "cri")) {
      it(
        c.id,
        async () => judge(opts, c, "cri", await runWithCri(pod, node.cri.runtime, c, `c${++seq}`)),
        CASE_TIMEOUT,
      );
    }
  });
}
