import type { CtrOptions, CtrResult } from "./ctr.ts";
import type { Footprint } from "./leftovers.ts";

/** ctr against one daemon. */
export type Ctr = (args: string[], opts: CtrOptions) => Promise<CtrResult>;

/** The output's lines, or why ctr gave none. */
async function ask(ctr: Ctr, args: string[], namespace?: string): Promise<string[] | string> {
  const what = `ctr ${namespace ? `-n ${namespace} ` : ""}${args.join(" ")}`;
  try {
    const r = await ctr(args, { ...(namespace ? { namespace } : {}), timeoutMs: 8_000 });
    return r.code === 0 ? lines(r.stdout) : `${what} failed (${r.code}): ${r.stderr.trim()}`;
  } catch (e) {
    return `${what}: ${(e as Error).message}`;
  }
}

/**
 * For the harness's own queries: a wedged shim can stall `ctr tasks ls` (containerd asks every
 * shim for its state), and cleanup must go on regardless.
 */
export async function queryCtr(ctr: Ctr, args: string[], namespace?: string): Promise<string[]> {
  const r = await ask(ctr, args, namespace);
  return typeof r === "string" ? [] : r;
}

/** Tasks and container records still in the daemon; a query that fails is reported too, as it may hide some. */
export async function daemonRecords(ctr: Ctr): Promise<string[]> {
  const found: string[] = [];
  const lines = async (args: string[], ns?: string) => {
    const r = await ask(ctr, args, ns);
    if (typeof r === "string") found.push(`cannot tell what is left: ${r}`);
    return typeof r === "string" ? [] : r;
  };
  for (const ns of await lines(["namespaces", "ls", "-q"])) {
    for (const row of (await lines(["tasks", "ls"], ns)).slice(1))
      found.push(`task ${ns}/${row.split(/\s+/).join(" ")}`);
    for (const id of await lines(["containers", "ls", "-q"], ns)) found.push(`container ${ns}/${id}`);
  }
  return found;
}

/** Every task and container record in the footprint's namespaces, removed. */
export async function deleteAllRecords(ctr: Ctr, fp: Footprint): Promise<void> {
  await Promise.all(
    [...fp.namespaces].map(async (ns) => {
      const tasks = await queryCtr(ctr, ["tasks", "ls", "-q"], ns);
      await Promise.all(tasks.map((id) => queryCtr(ctr, ["tasks", "rm", "-f", id], ns)));
      const containers = await queryCtr(ctr, ["containers", "ls", "-q"], ns);
      if (containers.length > 0) await queryCtr(ctr, ["containers", "rm", ...containers], ns);
    }),
  );
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
