// Runs inside a private mount namespace, with a cgroup v2 hierarchy mounted at argv[2] (see
// cgroup2.test.ts): puts work into a fresh cgroup, reads it with readCgroup2, prints the Metrics
// as JSON and removes the cgroup. Controllers the parent does not delegate are simply absent.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { MetricsSchema } from "../../src/gen/cgroups/v2/metrics_pb.ts";
import { readCgroup2 } from "../../src/task/cgroup2.ts";

const dir = join(process.argv[2]!, `shim-cg2probe-${process.pid}`);
mkdirSync(dir);
try {
  const controllers = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
  const inside = (command: string) =>
    spawnSync("sh", ["-c", `echo $$ > ${dir}/cgroup.procs && exec ${command}`], { stdio: "ignore" });
  inside(`sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'`);
  let oom: string | null = null;
  if (controllers.includes("memory")) {
    // A real OOM kill where the memory controller is delegated (a cgroup v2 host).
    writeFileSync(join(dir, "memory.max"), String(16 << 20));
    if (existsSync(join(dir, "memory.swap.max"))) writeFileSync(join(dir, "memory.swap.max"), "0");
    oom = inside("dd if=/dev/zero of=/dev/null bs=64M count=1").signal;
  }
  const metrics = toJson(MetricsSchema, await readCgroup2(dir));
  process.stdout.write(JSON.stringify({ controllers, oom, metrics }));
} finally {
  rmdirSync(dir);
}
