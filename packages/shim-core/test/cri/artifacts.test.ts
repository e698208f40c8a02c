import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixturePath,
  programPath,
  wasmArtifactLayout,
  WASM_MEDIA_TYPES,
  writeWasmArtifact,
  type WasmArtifactSpec,
} from "@wasm-shims/test-fixtures";
import { shimBinaryDir } from "@wasm-shims/test-lab/conformance.ts";
import { ContainerState } from "@wasm-shims/test-lab/cri-client.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { CriNode, type Pod } from "@wasm-shims/test-lab/cri-node.ts";
import { plainHttpMirror, TestRegistry } from "@wasm-shims/test-lab/registry.ts";
import { PRECOMPILE_KEY_ENV } from "../../src/wasm/precompile-key.ts";

/**
 * OCI Wasm artifacts through CRI on containerd 1.6.20, as far as it lets them through (see
 * docs/kubernetes.md): an image whose manifest carries the Wasm module as a layer.
 */
const engines = ["node", "wasmer", "jco"] as const;
let node: CriNode;
let registry: TestRegistry;
const pods: Partial<Record<(typeof engines)[number], Pod>> = {};
let seq = 0;
const jcoCache = mkdtempSync(join(tmpdir(), "jco-cache-"));
// Not the node's /var/lib: the precompiled forms' key is this test's own.
const keyDir = mkdtempSync(join(tmpdir(), "precompile-key-"));

beforeAll(async () => {
  registry = await TestRegistry.start();
  node = await CriNode.start({
    shimDir: shimBinaryDir({ engine: "node" }),
    runtimes: Object.fromEntries(engines.map((e) => [`wasm-${e}`, { type: `io.containerd.${e}.v1` }])),
    extraConfig: plainHttpMirror(registry.host),
    env: { WASM_SHIM_JCO_CACHE: jcoCache, [PRECOMPILE_KEY_ENV]: join(keyDir, "precompile.key") },
  });
  for (const e of engines) pods[e] = await node.runPod(`artifacts-${e}`, `wasm-${e}`);
}, 300_000);

afterAll(async () => {
  for (const pod of Object.values(pods)) await pod.remove().catch(() => undefined);
  await node?.stop();
  await registry?.close();
  rmSync(jcoCache, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
});

/** Imports `spec` into CRI's namespace without unpacking: what containerd 1.6 can store of any artifact. */
async function imported(spec: Omit<WasmArtifactSpec, "ref">): Promise<string> {
  const ref = `localhost/artifacts/a${++seq}:1`;
  const tar = join(node.ctd.dir, `a${seq}.tar`);
  await writeWasmArtifact(tar, { ref, ...spec });
  const r = await node.ctd.ctr(["image", "import", "--no-unpack", tar], { namespace: "k8s.io" });
  if (r.code !== 0) throw new Error(r.stderr);
  // CRI learns of the image from containerd's event a moment later, as it would for kubelet.
  await eventually(async () =>
    expect((await node.cri.image.imageStatus({ image: { image: ref } })).image).toBeDefined(),
  );
  return ref;
}

/** Serves `spec` from the test registry and pulls it through CRI. */
async function pulled(spec: Omit<WasmArtifactSpec, "ref">): Promise<string> {
  const { ref } = registry.add(`artifacts/p${++seq}`, "1", await wasmArtifactLayout({ ref: "x:1", ...spec }));
  await node.cri.image.pullImage({ image: { image: ref } });
  return ref;
}

async function run(engine: (typeof engines)[number], image: string, command: string[] = [], args: string[] = []) {
  const pod = pods[engine]!;
  const name = `c${++seq}`;
  const id = await pod.create({ name, image, command, args });
  await node.cri.runtime.startContainer({ containerId: id });
  const status = await pod.waitState(id, ContainerState.CONTAINER_EXITED);
  return { exitCode: status.exitCode, out: pod.log(name).map((l) => l.text) };
}

/** StartContainer's error: the shim's Create runs there, so that is where a bad artifact is refused. */
async function refused(engine: (typeof engines)[number], image: string, command: string[] = []): Promise<string> {
  const id = await pods[engine]!.create({ name: `c${++seq}`, image, command });
  const err = await node.cri.runtime.startContainer({ containerId: id }).then(
    () => undefined,
    (e: Error) => e,
  );
  if (!err)
    throw new Error(
      `StartContainer of ${image} ${command.join(" ")} succeeded; log:\n${pods[engine]!.logText(`c${seq}`)}`,
    );
  return err.message;
}

describe("OCI Wasm artifacts through CRI", () => {
  it.each(engines)("runs a CNCF artifact (wasm config, raw .wasm layer) on %s", async (engine) => {
    const image = await imported({ layers: [{ source: fixturePath("hello"), title: "hello.wasm" }] });
    expect(await run(engine, image, ["hello.wasm"])).toEqual({ exitCode: 0, out: ["hello from wasm"] });
  });

  it("runs a component layer on jco", async () => {
    const image = await imported({
      config: "oci",
      entrypoint: ["/hello.wasm"],
      layers: [{ source: programPath("hello-js"), mediaType: WASM_MEDIA_TYPES.component }],
    });
    expect(await run("jco", image)).toEqual({ exitCode: 0, out: ["hello from a JavaScript component"] });
  });

  it("PullImage of a pure artifact fails on 1.6.20 but stores it, and the container runs (kubelet's IfNotPresent)", async () => {
    const { ref } = registry.add(
      `artifacts/pure${++seq}`,
      "1",
      await wasmArtifactLayout({ ref: "x:1", layers: [{ source: fixturePath("hello") }] }),
    );
    // containerd < 1.6.25 / 1.7.7 counts the Wasm layer against the config's diff ids. When this
    // starts to pass, containerd was upgraded: update docs/kubernetes.md.
    await expect(node.cri.image.pullImage({ image: { image: ref } })).rejects.toThrow(
      /mismatched image rootfs and manifest layers/,
    );
    expect((await node.cri.image.imageStatus({ image: { image: ref } })).image?.id).toMatch(/^sha256:/);
    expect(await run("node", ref, ["/hello.wasm"])).toEqual({ exitCode: 0, out: ["hello from wasm"] });
  });

  it("pulls a Wasm layer beside a filesystem layer: the layer is the entrypoint and sees the file system", async () => {
    const image = await pulled({
      config: "oci",
      files: [{ path: "/etc/greeting", content: "from the filesystem layer\n" }],
      layers: [{ source: fixturePath("read-file"), title: "read-file.wasm" }],
      entrypoint: ["read-file.wasm", "/etc/greeting"],
    });
    expect(await run("node", image)).toEqual({ exitCode: 0, out: ["opening", "opened", "from the filesystem layer"] });
    // ctr runs it too, in the namespace CRI pulled (and so unpacked) it into.
    const r = await node.ctd.ctr(["run", "--rm", "--runtime", "io.containerd.node.v1", image, `ctr-${seq}`], {
      namespace: "k8s.io",
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ code: 0, stdout: "opening\nopened\nfrom the filesystem layer\n" });
  });

  it("runs the rootfs's file when argv[0] names one, and the layer otherwise", async () => {
    const image = await pulled({
      config: "oci",
      files: [{ path: "/bin/hello.wasm", source: fixturePath("hello") }],
      layers: [{ source: fixturePath("exports") }],
    });
    expect(await run("node", image, ["/bin/hello.wasm"])).toEqual({ exitCode: 0, out: ["hello from wasm"] });
    expect(await run("node", image, ["app.wasm"])).toEqual({ exitCode: 0, out: ["start was called"] });
  });

  it("calls the export module.wasm#function names, where the engine can", async () => {
    const image = await imported({ layers: [{ source: fixturePath("exports"), title: "exports.wasm" }] });
    expect(await run("node", image, ["exports.wasm#greet"])).toEqual({ exitCode: 7, out: ["greet was called"] });
    expect(await run("jco", image, ["exports.wasm#quiet"])).toEqual({ exitCode: 0, out: [] });
    expect(await refused("node", image, ["exports.wasm#answer"])).toMatch(
      /entrypoint \/exports\.wasm#answer: the module exports answer as a global, not a function/,
    );
    expect(await refused("wasmer", image, ["exports.wasm#greet"])).toMatch(
      /the wasmer engine always starts a module at _start/,
    );
  });

  it("refuses two Wasm layers without a selector, and runs the one argv[0] names", async () => {
    const image = await imported({
      layers: [
        { source: fixturePath("hello"), title: "hello.wasm" },
        { source: fixturePath("exports"), title: "exports.wasm" },
      ],
    });
    const digests = [fixturePath("hello"), fixturePath("exports")].map((f) => `sha256:${sha256(readFileSync(f))}`);
    expect(await refused("node", image, ["/app.wasm"])).toMatch(
      new RegExp(`has 2 Wasm layers and the entrypoint /app.wasm names none of them.*${digests[0]}.*${digests[1]}`),
    );
    expect(await run("node", image, ["exports.wasm"])).toEqual({ exitCode: 0, out: ["start was called"] });
  });

  it("refuses a layer of unknown media type and a corrupt layer, naming them", async () => {
    // Not hello.wasm: CRI knows an image by its config's digest, and the CNCF config of the same
    // layer bytes is the same config, so CRI would run the first image imported with it.
    const unknown = await imported({
      layers: [{ source: fixturePath("args-env"), mediaType: "application/vnd.wasm.unknown.v9+wasm" }],
    });
    expect(await refused("node", unknown, ["/args-env.wasm"])).toMatch(
      /has media type application\/vnd\.wasm\.unknown\.v9\+wasm, which is neither a Wasm layer/,
    );
    const hello = readFileSync(fixturePath("sleep"));
    const image = await imported({ layers: [{ data: new Uint8Array(hello) }] });
    const digest = sha256(hello);
    const blob = join(node.ctd.dir, "root", "io.containerd.content.v1.content", "blobs", "sha256", digest);
    writeFileSync(blob, Buffer.concat([hello.subarray(0, -1), Buffer.from([hello.at(-1)! ^ 1])]));
    expect(await refused("node", image, ["/sleep.wasm"])).toMatch(
      new RegExp(
        `Wasm layer sha256:${digest} \\(application/wasm\\) of image ${image}: content sha256:${digest} in containerd's store is corrupt`,
      ),
    );
  });

  it("leaves nothing behind", async () => {
    for (const e of engines) await pods[e]!.remove();
    for (const e of engines) delete pods[e];
    expect(await node.leftovers()).toEqual([]);
  });
});

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
