import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixturePath,
  programPath,
  WASM_MEDIA_TYPES,
  writeWasmArtifact,
  type WasmArtifactSpec,
} from "@wasm-shims/test-fixtures";
import { ContainerdClient } from "../../src/containerd/client.ts";
import { shimBinaryDir } from "@wasm-shims/test-lab/conformance.ts";
import { ContainerState } from "@wasm-shims/test-lab/cri-client.ts";
import { CriNode, type Pod } from "@wasm-shims/test-lab/cri-node.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { PRECOMPILE_KEY_ENV } from "../../src/wasm/precompile-key.ts";
import { seal } from "../../src/wasm/precompiled.ts";

/**
 * A Wasm layer's compiled form in containerd's content store (containerd 1.6.20, CRI): made by
 * the first container, used by the next, never trusted when it is not what this node's shim
 * sealed, and collected with its image.
 */
const engines = ["jco", "node"] as const;
let node: CriNode;
let client: ContainerdClient;
const pods: Partial<Record<(typeof engines)[number], Pod>> = {};
const scratch = mkdtempSync(join(tmpdir(), "precompiled-e2e-"));
const jcoCache = join(scratch, "jco-cache");
const keyFile = join(scratch, "state", "precompile.key");
let seq = 0;

/**
 * Empties jco's transpile cache, keeping its root: a daemon holds a read-only view of that very
 * directory (wasm/runner-files.ts), which a new directory at the same path would not be.
 */
function wipeJcoCache(): void {
  for (const entry of readdirSync(jcoCache)) rmSync(join(jcoCache, entry), { recursive: true, force: true });
}

beforeAll(async () => {
  node = await CriNode.start({
    shimDir: shimBinaryDir({ engine: "node" }),
    runtimes: Object.fromEntries(engines.map((e) => [`wasm-${e}`, { type: `io.containerd.${e}.v1` }])),
    env: { WASM_SHIM_JCO_CACHE: jcoCache, [PRECOMPILE_KEY_ENV]: keyFile },
  });
  client = new ContainerdClient(node.ctd.socket, "k8s.io");
  for (const e of engines) pods[e] = await node.runPod(`precompiled-${e}`, `wasm-${e}`);
}, 300_000);

afterAll(async () => {
  for (const pod of Object.values(pods)) await pod.remove().catch(() => undefined);
  await node?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function imported(spec: Omit<WasmArtifactSpec, "ref">): Promise<{ ref: string; layer: string }> {
  const ref = `localhost/precompiled/p${++seq}:1`;
  const tar = join(node.ctd.dir, `p${seq}.tar`);
  const { layerDigests } = await writeWasmArtifact(tar, { ref, ...spec });
  const r = await node.ctd.ctr(["image", "import", "--no-unpack", tar], { namespace: "k8s.io" });
  if (r.code !== 0) throw new Error(r.stderr);
  await eventually(async () =>
    expect((await node.cri.image.imageStatus({ image: { image: ref } })).image).toBeDefined(),
  );
  return { ref, layer: layerDigests[0]! };
}

async function run(engine: (typeof engines)[number], image: string, command: string[]) {
  const pod = pods[engine]!;
  const name = `c${++seq}`;
  const id = await pod.create({ name, image, command });
  await node.cri.runtime.startContainer({ containerId: id });
  const status = await pod.waitState(id, ContainerState.CONTAINER_EXITED);
  return { exitCode: status.exitCode, out: pod.log(name).map((l) => l.text) };
}

/** The precompiled blob the layer's GC label points at, once the first container stored it. */
async function precompiledOf(layer: string, engine: string): Promise<string> {
  return eventually(async () => {
    const labels = (await client.labels(layer)) ?? {};
    const found = Object.entries(labels).find(([k]) =>
      k.startsWith(`containerd.io/gc.ref.content.wasm-shims.${engine}.`),
    );
    if (!found) throw new Error(`layer ${layer} has no precompiled label yet: ${JSON.stringify(labels)}`);
    return found[1];
  }, 20_000);
}

const count = (re: RegExp) => (node.ctd.logText().match(new RegExp(re.source, "g")) ?? []).length;

/** Points the layer's label at other bytes, written the way any containerd client could. */
async function relabel(layer: string, engine: string, blob: Uint8Array): Promise<string> {
  const labels = (await client.labels(layer))!;
  const key = Object.keys(labels).find((k) => k.startsWith(`containerd.io/gc.ref.content.wasm-shims.${engine}.`))!;
  const lease = await client.createLease(600);
  const digest = await client.write(`test-${++seq}`, blob, lease);
  await client.setLabels(layer, { [key]: digest });
  await client.deleteLease(lease);
  return digest;
}

describe("precompiled Wasm layers in containerd's content store", () => {
  let component: { ref: string; layer: string };
  let blob: string;

  it("jco: the first container transpiles and stores the output; the next, with no cache on disk, transpiles nothing", async () => {
    component = await imported({
      config: "oci",
      entrypoint: ["/hello.wasm"],
      layers: [{ source: programPath("hello-js"), mediaType: WASM_MEDIA_TYPES.component }],
    });
    expect(await run("jco", component.ref, [])).toEqual({ exitCode: 0, out: ["hello from a JavaScript component"] });
    blob = await precompiledOf(component.layer, "jco");
    const transpiles = count(/transpiled in \d+ ms/);
    expect(transpiles).toBeGreaterThan(0);
    wipeJcoCache();
    expect(await run("jco", component.ref, [])).toEqual({ exitCode: 0, out: ["hello from a JavaScript component"] });
    expect(count(/transpiled in \d+ ms/)).toBe(transpiles);
    expect(node.ctd.logText()).toContain(`using the precompiled form from containerd's content store`);
    expect(node.ctd.logText()).toMatch(/transpile output from containerd's content store written into/);
  });

  it("node: the next container's Create compiles nothing on the host (V8's verdict on the layer is what is kept)", async () => {
    const core = await imported({ layers: [{ source: fixturePath("exports") }] });
    expect(await run("node", core.ref, ["/exports.wasm"])).toEqual({ exitCode: 0, out: ["start was called"] });
    await precompiledOf(core.layer, "node");
    const used = count(/using the precompiled form/);
    expect(await run("node", core.ref, ["/exports.wasm#greet"])).toEqual({ exitCode: 7, out: ["greet was called"] });
    expect(count(/using the precompiled form/)).toBe(used + 1);
  });

  it("never trusts a tampered blob, another node's, or one made for another layer: it compiles again and relabels", async () => {
    const good = await client.readVerified(blob);
    const tampered = Buffer.from(good);
    tampered[tampered.length - 100] = tampered.at(-100)! ^ 1;
    const compiler = Object.keys((await client.labels(component.layer))!)
      .find((k) => k.includes(".wasm-shims.jco."))!
      .split(".")
      .at(-1)!;
    const nodeKey = new Uint8Array(readFileSync(keyFile));
    const foreign = seal(
      { engine: "jco", key: compiler, source: component.layer },
      new Uint8Array(),
      new Uint8Array(32).fill(9),
    );
    const otherLayer = seal(
      { engine: "jco", key: compiler, source: `sha256:${"0".repeat(64)}` },
      new Uint8Array(),
      nodeKey,
    );
    const cases = [
      ["tampered", tampered, /its seal does not match/],
      ["foreign", foreign, /its seal does not match/],
      ["other layer", otherLayer, /it was made for source sha256:0{64}/],
    ] as const;
    for (const [what, bytes, why] of cases) {
      const planted = await relabel(component.layer, "jco", bytes);
      const transpiles = count(/transpiled in \d+ ms/);
      wipeJcoCache();
      expect(await run("jco", component.ref, [])).toEqual({ exitCode: 0, out: ["hello from a JavaScript component"] });
      const said = node.ctd
        .logText()
        .split("\n")
        .filter((l) => l.includes(`precompiled blob ${planted}`));
      expect(said.join("\n"), what).toMatch(new RegExp(`is not trusted: ${why.source}[^;]*; compiling again`));
      expect(count(/transpiled in \d+ ms/), what).toBe(transpiles + 1);
      await eventually(async () => expect(await precompiledOf(component.layer, "jco")).not.toBe(planted), 20_000);
    }
    // Bytes on disk that are not their digest's: read back, refused, compiled again.
    const current = await precompiledOf(component.layer, "jco");
    const file = join(node.ctd.dir, "root", "io.containerd.content.v1.content", "blobs", "sha256", current.slice(7));
    const onDisk = readFileSync(file);
    writeFileSync(file, Buffer.concat([onDisk.subarray(0, -1), Buffer.from([onDisk.at(-1)! ^ 1])]));
    wipeJcoCache();
    const transpiles = count(/transpiled in \d+ ms/);
    expect(await run("jco", component.ref, [])).toEqual({ exitCode: 0, out: ["hello from a JavaScript component"] });
    expect(node.ctd.logText()).toMatch(
      new RegExp(`precompiled blob ${current} is not used: content ${current} in containerd's store is corrupt`),
    );
    expect(count(/transpiled in \d+ ms/)).toBe(transpiles + 1);
  });

  it("lives exactly as long as the image: kept by the GC while the image is there, collected with it", async () => {
    const current = await precompiledOf(component.layer, "jco");
    // A synchronous GC (removing another image) leaves it alone while the image stands.
    const other = await imported({ layers: [{ source: fixturePath("hello") }] });
    expect((await node.ctd.ctr(["image", "rm", "--sync", other.ref], { namespace: "k8s.io" })).code).toBe(0);
    expect(await client.labels(current)).toBeDefined();
    for (const e of engines) await pods[e]!.remove();
    for (const e of engines) delete pods[e];
    // As kubelet's image GC does: CRI also removes the image-id record it made for the image.
    await node.cri.image.removeImage({ image: { image: component.ref } });
    const images = (await node.ctd.ctr(["image", "ls", "-q"], { namespace: "k8s.io" })).stdout;
    expect(images).not.toContain(component.ref);
    await eventually(async () => expect(await client.labels(current), images).toBeUndefined(), 20_000);
    expect(await client.labels(component.layer)).toBeUndefined();
    expect(await node.leftovers()).toEqual([]);
  });
});
