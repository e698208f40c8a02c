import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseYamlDocuments } from "./yaml-subset.ts";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const read = (path: string) => readFileSync(join(repo, path), "utf8");
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`not a mapping: ${JSON.stringify(v)}`);
  return v as Obj;
};

const engines = ["node", "wasmer", "jco"];
const expectedRuntimes = Object.fromEntries(engines.map((e) => [`wasm-${e}`, `io.containerd.${e}.v1`]));
// RuntimeClass.handler must be a DNS label (lower case, at most 63 characters).
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The ```toml blocks of docs/kubernetes.md, each with the heading it sits under. */
function tomlBlocks(markdown: string): { heading: string; body: string }[] {
  const blocks: { heading: string; body: string }[] = [];
  let heading = "";
  for (const m of markdown.matchAll(/^(#{1,6} .*)$|^```toml\n([\s\S]*?)^```$/gm)) {
    if (m[1]) heading = m[1];
    else blocks.push({ heading, body: m[2] ?? "" });
  }
  return blocks;
}

/** handler → runtime_type from `[<prefix>.containerd.runtimes.<handler>]` tables. */
function registeredRuntimes(toml: string, prefix: string): Record<string, string> {
  const found: Record<string, string> = {};
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const table = new RegExp(
    `^\\[${escaped}\\.containerd\\.runtimes\\.([\\w-]+)\\]\\s*\\n\\s*runtime_type\\s*=\\s*["']([^"']+)["']`,
    "gm",
  );
  for (const m of toml.matchAll(table)) found[m[1]!] = m[2]!;
  return found;
}

describe("deploy/ manifests and docs/kubernetes.md", () => {
  const classes = parseYamlDocuments(read("deploy/runtimeclasses.yaml")).map(obj);
  const handlers = classes.map((c) => String(c.handler));
  const docs = read("docs/kubernetes.md");

  it("has one RuntimeClass per engine, named as its handler", () => {
    for (const c of classes) {
      expect(c).toMatchObject({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass" });
      expect(obj(c.metadata).name).toBe(c.handler);
      expect(String(c.handler)).toMatch(dnsLabel);
    }
    expect(handlers.sort()).toEqual(Object.keys(expectedRuntimes).sort());
  });

  it("registers exactly those handlers, with runtime_type io.containerd.<engine>.v1, for containerd 1.x and 2.x", () => {
    const blocks = tomlBlocks(docs);
    const v1 = blocks
      .filter((b) => /1\.6/.test(b.heading))
      .map((b) => registeredRuntimes(b.body, `plugins."io.containerd.grpc.v1.cri"`));
    const v2 = blocks
      .filter((b) => /2\.x/.test(b.heading))
      .map((b) => registeredRuntimes(b.body, `plugins.'io.containerd.cri.v1.runtime'`));
    expect(v1).toEqual([expectedRuntimes]);
    expect(v2).toEqual([expectedRuntimes]);
  });

  it("samples a Deployment that mixes a Wasm container and a native sidecar under a listed RuntimeClass", () => {
    const [deployment, ...rest] = parseYamlDocuments(read("deploy/sample-deployment.yaml")).map(obj);
    expect(rest).toEqual([]);
    expect(deployment).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
    const spec = obj(deployment!.spec);
    const template = obj(spec.template);
    expect(obj(obj(spec.selector).matchLabels)).toEqual(obj(obj(template.metadata).labels));
    const pod = obj(template.spec);
    expect(handlers).toContain(pod.runtimeClassName);
    const containers = (pod.containers as unknown[]).map(obj);
    expect(containers.map((c) => c.name)).toEqual(["app", "sidecar"]);
    for (const c of containers) {
      expect(typeof c.image).toBe("string");
      expect(obj(obj(c.resources).limits)).toHaveProperty("memory");
    }
    expect(containers[1]!.command).toEqual(["/bin/sh", "-c", "while true; do date; sleep 60; done"]);
  });

  // containerd parses its config and prints the merged result without starting anything.
  it.skipIf(spawnSync("containerd", ["--version"]).status !== 0)(
    "has a 1.x snippet that containerd accepts as it is",
    () => {
      const snippet = tomlBlocks(docs).find((b) => /1\.6/.test(b.heading))!.body;
      const dir = mkdtempSync(join(tmpdir(), "cri-docs-"));
      try {
        const config = join(dir, "config.toml");
        writeFileSync(
          config,
          `version = 2\nroot = ${JSON.stringify(join(dir, "root"))}\nstate = ${JSON.stringify(join(dir, "state"))}\n\n${snippet}`,
        );
        const dump = spawnSync("containerd", ["--config", config, "config", "dump"], {
          encoding: "utf8",
          timeout: 30_000,
        });
        expect(dump.stderr).not.toMatch(/level=(error|fatal)/);
        expect(dump.status).toBe(0);
        for (const [handler, type] of Object.entries(expectedRuntimes)) {
          expect(dump.stdout).toMatch(
            new RegExp(`runtimes\\.${handler}\\]\\n(?:\\s+.*\\n)*?\\s+runtime_type = "${type.replaceAll(".", "\\.")}"`),
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
