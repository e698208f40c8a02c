// The report's "where the time goes" section: the largest phase per engine and what would cut it.
import { httpWhere } from "./http-report.ts";
import { isLargeModuleCase } from "./large-module.ts";
import { f } from "./markdown.ts";
import { phaseLabels, phaseNames, type PhaseName } from "./phases.ts";
import type { Results } from "./results.ts";

/** What would cut each phase, written for the phase the measurements name as largest. */
const remedies = (containerd: string): Partial<Record<PhaseName, string>> => ({
  firstOutput:
    "This is the runner: a second Node process boots inside the container (the shim executable in runner mode), loads the runner's and the engine's modules and runs the guest on its main thread (native signal handlers end it on SIGTERM; no worker, no second evaluation of the bundle), after compiling the module (wasmer: after starting the SDK's own worker threads and its runtime wasm). A startup snapshot (`useSnapshot`) was measured and does not pay on Node 24: the daemon's boot 35-60 ms shorter, every other boot 5-50 ms longer, 11 MB more RSS in every process; a pre-started runner per pod (a zygote) would take it off the path; the floor is one bare start of the executable (the `-v` figure)",
  daemonUp:
    "The daemon is a second start of the same Node executable after `start`, and it compiles the bundle from its code cache as it loads (its messages go through the shim's own codec and generated field tables, not protobuf-es's descriptors, which took 50 ms more; node:http2, for containerd's API, only when an image needs it; the host loader's listing of the executable runs beside it on the other core). It is 0 when `start` finds a spare daemon waiting (docs/architecture.md), which is the case for every container here but the warm-up's first: where it shows, no spare waited (spares off, or a spare still booting)",
  shimStart:
    "With a spare daemon waiting, `start` does not boot Node: the executable's native entry (docs/architecture.md, \"The binary contract\") hands the spare its command line, environment and stdin and prints the address the spare answers, once the spare has bound the pod's socket and taken the pod's environment. What is left is the exec and dynamic loading of the 110 MB executable and that adoption; without a spare free (the first pod after containerd starts, or a burst that outruns it) the native `start` forks a daemon of its own and hands it the same request: one boot of Node on the pod's path",
  delete:
    "Delete runs `runc delete` and unmounts the rootfs (an exec of umount(8); a system call from the native helper would save the exec), then the daemon answers Shutdown, delivers its pending events and disconnects at once",
  cleanup: `After the daemon disconnects, ${containerd} runs \`<shim> delete\` ("cleaning up dead shim" in its log) before it removes the snapshot and ctr exits. When the daemon's Delete left nothing to clean (it writes \`shim-deleted\`), the executable's native entry answers it without booting Node; what is left is that exec, containerd's removal of the snapshot and ctr's own exit`,
  start:
    "Start is one `runc run --detach` (the daemon is the init's subreaper; runc's own Start is only `runc start`, its `runc create` is in its Create): runc's own cost, the same for every engine",
  create:
    "Create mounts the rootfs, opens the runner's files through detached read-only mounts (two system calls per file, once per daemon) and prepares the module: for jco it transpiles it to JavaScript when the cache is empty, which is what the warm-cache case saves (see the jco section); precompiling at image pull, or a cache shared by all pods of the node, takes it off the path",
  client: "ctr's own start and the snapshot preparation, the same for every engine",
  toShim: "containerd's own work between the snapshot and the shim's exec (container record, bundle, fork/exec)",
  exit: "The guest's run and the report of its exit",
});

/** "containerd 1.6" from `containerd --version`, whose packaged forms differ in their other words. */
function containerdName(version: string): string {
  const v = /\s(\d+\.\d+)\.\d/.exec(version)?.[1];
  return v ? `containerd ${v}` : "containerd";
}

export function whereSection(r: Results): string {
  const runc = r.coldStart.find((c) => c.engine === "runc");
  const lines: string[] = [];
  const why = remedies(containerdName(r.machine.containerd));
  for (const c of r.coldStart.filter((x) => x.engine !== "runc" && x.largest && !isLargeModuleCase(x.label))) {
    const p = c.largest!;
    const med = c.phases[p]!.median;
    const share = (med / c.wallMs.median) * 100;
    const runcPart = runc?.phases[p]?.median;
    const next = phaseNames
      .filter((n) => n !== p && c.phases[n])
      .sort((x, y) => c.phases[y]!.median - c.phases[x]!.median)
      .slice(0, 2)
      .map(
        (n) =>
          `${phaseLabels[n]} ${f(c.phases[n]!.median)} ms${runc?.phases[n] ? ` (runc ${f(runc.phases[n].median)})` : ""}`,
      );
    lines.push(
      `- **${c.label}**: ${phaseLabels[p]} — ${f(med)} ms of ${f(c.wallMs.median)} ms (${f(share)} %)${runcPart !== undefined ? `; runc spends ${f(runcPart)} ms there` : ""}. ${why[p] ?? ""}. Next: ${next.join(", ")}.`,
    );
  }
  const withBoots = (c: (typeof r.coldStart)[number]) =>
    c.engine !== "runc" && c.phases.firstOutput !== undefined && c.phases.daemonUp !== undefined;
  const node = r.coldStart.find((c) => c.engine === "node" && withBoots(c)) ?? r.coldStart.find(withBoots);
  if (node) {
    const ph = (n: PhaseName) => node.phases[n]?.median ?? 0;
    const rc = (n: PhaseName) => runc?.phases[n]?.median ?? 0;
    const bare = r.binary.find((b) => b.engine === node.engine)?.versionMs.median;
    const runnerExtra = bare === undefined ? undefined : Math.max(0, ph("firstOutput") - bare);
    const spare = ph("daemonUp") === 0;
    const teardownExtra = Math.max(0, ph("delete") + ph("cleanup") - rc("delete") - rc("cleanup"));
    lines.push(
      "",
      `${spare ? "One boot of Node sits" : "Two boots of Node sit"} on the path of every ${node.label} container up to its output: ${spare ? "" : `the daemon (${f(ph("daemonUp"))} ms: no spare waited) and `}the runner up to the guest's first output (${f(ph("firstOutput"))} ms), ${f(((ph("firstOutput") + ph("daemonUp")) / node.wallMs.median) * 100)} % of the median ${f(node.wallMs.median)} ms (runc: ${f(runc?.wallMs.median)} ms). \`start\` (${f(ph("shimStart"))} ms, runc's ${f(rc("shimStart"))}) and \`delete\` (in the cleanup, ${f(ph("cleanup"))} ms against runc's ${f(rc("cleanup"))}) run in the executable's native entry, without Node.${bare !== undefined && runnerExtra !== undefined ? ` Taking \`-v\` (${f(bare)} ms, a whole boot of the bundle) as the price of one boot, the runner spends ${f(runnerExtra)} ms beyond it on its engine's modules, the guest's setup and compilation.` : ""}`,
      "",
      `Expected cuts, from these figures: a pre-started runner per pod (a zygote, as runwasi does): the runner's ${f(ph("firstOutput"))} ms except compilation, which with runc's containment means a process that enters the container's namespaces and cgroup itself; a quicker Delete and Shutdown: up to the ${f(teardownExtra)} ms by which Delete and cleanup exceed runc's.${spare ? " The daemon's boot is off the path while a spare waits; the first pod after containerd starts, or one that comes while the spare boots, pays it (60-70 ms in the runs before spares)." : ""}`,
    );
  }
  const mem = r.memory.filter((m) => m.engine !== "runc" && m.steady);
  const runcMem = r.memory.find((m) => m.engine === "runc")?.steady;
  if (mem.length > 0 && runcMem) {
    lines.push(
      "",
      `Memory: an idle task costs ${mem.map((m) => `${f(m.steady!.pss, 1)} MB PSS (${f(m.steady!.rss, 1)} MB RSS) on ${m.label}`).join(", ")}, against ${f(runcMem.pss, 1)} MB PSS for runc. The largest part: ${mem
        .filter((m) => m.parts)
        .map((m) =>
          m.parts!.shim >= m.parts!.container
            ? `${m.label}'s shim daemon (${f(m.parts!.shim, 1)} MB PSS)`
            : `${m.label}'s runner (${f(m.parts!.container, 1)} MB PSS)`,
        )
        .join(
          ", ",
        )}. The Wasm tasks hold two Node processes (daemon and runner; no runc process waits beside them: the daemon reaps the init as its subreaper), and each engine keeps one spare daemon waiting for its next pod, counted in the shim's part: a whole idle process for one task, a fiftieth of one at 50; RSS counts the shared executable pages in each of them, PSS counts them once, and the density table's PSS per task is the figure to plan with. ${bareLine(r.bareNode)}One daemon per pod (CRI already) and one Node runner per pod instead of per container are the cuts that remain.`,
    );
  }
  const http = httpWhere(r.http);
  if (http) lines.push("", "HTTP, per request (profiled on one event loop; details in the HTTP section):", "", http);
  return lines.join("\n");
}

/** The floor under every task's two Node processes, as this run measured it. */
function bareLine(bare: Results["bareNode"]): string {
  if (!bare?.pssMb) return bare?.error ? `(Bare Node processes were not measured: ${bare.error}.) ` : "";
  return `A bare process of the Node the executables are made from (the build's stripped copy, the executables' V8 flags, no code of ours) costs ${f(bare.pssMb, 1)} MB PSS (${f(bare.anonMb ?? 0, 1)} MB of its own memory) when ${bare.processes} run side by side, so two per task are ${f(2 * bare.pssMb, 1)} MB before any work. `;
}

/** How `-v` was timed: hyperfine when the machine has it, else this tool's own clock. */
