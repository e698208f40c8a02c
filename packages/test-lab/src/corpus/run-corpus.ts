import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCorpusImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "../containerd.ts";
import { CriNode, criNamespace } from "../cri-node.ts";
import { corpusCases, type CorpusCase } from "./cases.ts";
import { runWithCri, runWithCtr } from "./clients.ts";
import { knownFailure } from "./known-failures.ts";
import { problems, runReference, type CaseOutput } from "./reference.ts";

export type Client = "ctr" | "cri";

export interface CorpusEngine {
  engine: string;
  /** The engine runs WASI 0.2 components (jco); the others must refuse them at Create. */
  components?: boolean;
  /** Extra environment for containerd and so the shims (e.g. a private cache dir). */
  env?: Record<string, string>;
}

/** The cases an engine runs through a client: components only where they are supported, stdin only through CRI. */
export function casesFor(e: CorpusEngine, client: Client): CorpusCase[] {
  return corpusCases.filter((c) => (!c.component || e.components) && (client === "cri" || c.stdin === undefined));
}

/** The host's output for each core-module case, computed once per process. */
const references = new Map<string, Promise<CaseOutput>>();
export function reference(c: CorpusCase): Promise<CaseOutput> | undefined {
  if (c.component) return undefined;
  let ref = references.get(c.id);
  if (!ref) references.set(c.id, (ref = runReference(c)));
  return ref;
}

export interface CaseResult {
  engine: string;
  client: Client;
  id: string;
  /** Every problem found (empty: the case passed). */
  problems: string[];
  /** The written reason, when the engine is known to fail this case. */
  known?: string;
}

export async function judgeCase(engine: string, c: CorpusCase, client: Client, out: CaseOutput): Promise<CaseResult> {
  const found = problems(c, out, await reference(c));
  const known = knownFailure(engine, c.id, client);
  return { engine, client, id: c.id, problems: found, ...(known ? { known } : {}) };
}

/** Runs the whole corpus through one engine, with ctr and with CRI, outside any test framework. */
export async function runCorpus(
  e: CorpusEngine,
  shimDir: string,
  log: (line: string) => void = () => {},
): Promise<CaseResult[]> {
  const runtime = `io.containerd.${e.engine}.v1`;
  const results: CaseResult[] = [];
  const record = (r: CaseResult) => {
    results.push(r);
    log(
      `${r.engine} ${r.client} ${r.id}: ${r.problems.length === 0 ? "pass" : `FAIL${r.known ? " (known)" : ""}: ${r.problems.join("; ").slice(0, 300)}`}`,
    );
  };
  const dir = mkdtempSync(join(tmpdir(), "corpus-run-"));
  try {
    const images = await buildCorpusImages(dir);
    const ctd = await Containerd.start({ shimDir, ...(e.env ? { env: e.env } : {}) });
    try {
      for (const image of Object.values(images)) await ctd.importImage(image.tarball);
      let n = 0;
      for (const c of casesFor(e, "ctr"))
        record(await judgeCase(e.engine, c, "ctr", await runWithCtr(ctd, runtime, c, `corpus-${e.engine}-${++n}`)));
    } finally {
      await ctd.stop();
    }
    const handler = `wasm-${e.engine}`;
    const node = await CriNode.start({
      shimDir,
      ...(e.env ? { env: e.env } : {}),
      runtimes: { [handler]: { type: runtime } },
    });
    try {
      for (const image of Object.values(images)) await node.ctd.importImage(image.tarball, criNamespace);
      const pod = await node.runPod("corpus", handler);
      let n = 0;
      for (const c of casesFor(e, "cri"))
        record(await judgeCase(e.engine, c, "cri", await runWithCri(pod, node.cri.runtime, c, `c${++n}`)));
      await pod.remove();
    } finally {
      await node.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
