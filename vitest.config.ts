import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "tools/test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end files share one machine's mounts, cgroups and /run/containerd/s; run files one at a time.
    fileParallelism: false,
  },
});
