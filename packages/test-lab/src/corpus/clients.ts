import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpusImageRefs, programInImage } from "@wasm-shims/test-fixtures";
import type { Containerd } from "../containerd.ts";
import { ContainerState, type CriClient } from "../cri-client.ts";
import type { Pod } from "../cri-node.ts";
import type { CorpusCase } from "./cases.ts";
import { readTree, type CaseOutput } from "./reference.ts";

/** A fresh host directory for the case's volume at /data, read back and removed after the run. */
async function withVolume(
  c: CorpusCase,
  run: (dir: string | undefined) => Promise<Omit<CaseOutput, "volume">>,
): Promise<CaseOutput> {
  const dir = c.volume ? mkdtempSync(join(tmpdir(), "corpus-volume-")) : undefined;
  try {
    const out = await run(dir);
    return { ...out, volume: dir ? readTree(dir) : {} };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** `ctr run --rm` of a case, as a user would type it. */
export function runWithCtr(ctd: Containerd, runtime: string, c: CorpusCase, id: string): Promise<CaseOutput> {
  return withVolume(c, async (volume) => {
    const flags = ["--runtime", runtime];
    for (const [k, v] of Object.entries(c.env ?? {})) flags.push("--env", `${k}=${v}`);
    if (volume) flags.push("--mount", `type=bind,src=${volume},dst=/data,options=rbind:rw`);
    if (c.workingDir) flags.push("--cwd", c.workingDir);
    const res = await ctd.ctr(
      ["run", "--rm", ...flags, corpusImageRefs[c.image], id, programInImage(c.program), ...c.args],
      { timeoutMs: 240_000 },
    );
    return { exit: res.code, stdout: res.stdout, stderr: res.stderr };
  });
}

/** The streams of a CRI log as the guest wrote them: partial lines joined, full lines ended with "\n". */
export function streamsFromLog(pod: Pod, name: string): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  for (const line of pod.log(name)) out[line.stream] += line.partial ? line.text : `${line.text}\n`;
  return out;
}

/**
 * Attaches to a container's stdin through the CRI streaming server (the URL Attach returns, over
 * a WebSocket with the channel.k8s.io protocol: one leading byte per frame names the stream, 0 is
 * stdin), writes `text`, and closes: with stdin_once, containerd then closes the container's stdin.
 */
export async function attachStdin(
  pod: Pod,
  rt: CriClient["runtime"],
  containerId: string,
  text: string,
): Promise<void> {
  const { url } = await rt.attach({ containerId, stdin: true, stdout: false, stderr: false, tty: false });
  const ws = new WebSocket(url.replace(/^http/, "ws"), ["channel.k8s.io"]);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) =>
      reject(
        new Error(`attach to ${pod.name}/${containerId} failed: ${(e as ErrorEvent).message ?? "websocket error"}`),
      );
  });
  const data = new TextEncoder().encode(text);
  const frame = new Uint8Array(data.length + 1);
  frame.set(data, 1);
  ws.send(frame);
  await new Promise<void>((resolve) => {
    ws.onclose = () => resolve();
    ws.close(1000);
  });
}

/** A case as a container of a pod (created, started, fed stdin, waited for), as kubelet runs it. */
export function runWithCri(pod: Pod, rt: CriClient["runtime"], c: CorpusCase, name: string): Promise<CaseOutput> {
  return withVolume(c, async (volume) => {
    const id = await pod.create({
      name,
      image: corpusImageRefs[c.image],
      command: [programInImage(c.program)],
      args: c.args,
      ...(c.env ? { env: c.env } : {}),
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      ...(volume ? { mounts: [{ containerPath: "/data", hostPath: volume }] } : {}),
      ...(c.stdin !== undefined ? { stdin: true } : {}),
    });
    try {
      await rt.startContainer({ containerId: id });
      if (c.stdin !== undefined) await attachStdin(pod, rt, id, c.stdin);
      const status = await pod.waitState(id, ContainerState.CONTAINER_EXITED, 240_000);
      return { exit: status.exitCode, ...streamsFromLog(pod, name) };
    } finally {
      await rt.stopContainer({ containerId: id, timeout: 2n });
      await rt.removeContainer({ containerId: id });
    }
  });
}
