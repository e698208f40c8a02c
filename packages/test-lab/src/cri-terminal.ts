import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { probeRef, writeTtyProbeImage } from "./tty-probe-image.ts";
import { ContainerState } from "./cri-client.ts";
import { CriNode, criNamespace, type Pod } from "./cri-node.ts";
import { CriStream } from "./cri-stream.ts";
import { eventually as poll } from "./eventually.ts";

const lines = (s: string) => s.replace(/\r+\n/g, "\n");
// Generous: an exec of a Wasm command prepares its module first, slow on a loaded machine (wasmer).
const eventually = <T>(check: () => Promise<T> | T, ms = 45_000) => poll(check, ms);

/**
 * `kubectl exec -it` and `kubectl attach -it` as kubelet serves them: CRI Exec and Attach with a
 * terminal and stdin, through containerd's streaming server, into a native sidecar and a Wasm
 * container of a pod whose RuntimeClass handler is `wasm-<engine>`.
 */
export function criTerminalConformance(opts: ConformanceOptions): void {
  const handler = `wasm-${opts.engine}`;
  let node: CriNode;
  let imageDir: string;

  describe(`CRI exec and attach with a terminal (handler ${handler})`, () => {
    beforeAll(async () => {
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: { [handler]: { type: `io.containerd.${opts.engine}.v1` } },
      });
      imageDir = mkdtempSync(join(tmpdir(), "tty-images-"));
      const probe = await writeTtyProbeImage(imageDir);
      await node.ctd.importImage(probe, criNamespace);
    });

    afterAll(async () => {
      await node?.stop();
      rmSync(imageDir, { recursive: true, force: true });
    });

    afterEach(async () => {
      for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
      await eventually(async () => expect(await node.leftovers()).toEqual([]), 15_000);
    });

    const exec = async (containerId: string, cmd: string[]) => {
      const { url } = await node.cri.runtime.exec({
        containerId,
        cmd,
        tty: true,
        stdin: true,
        stdout: true,
        stderr: false,
      });
      const stream = new CriStream(url);
      await stream.opened;
      return stream;
    };

    it("exec -it into a native sidecar: a pty, resized through the stream, fed from stdin", async () => {
      const pod: Pod = await node.runPod("tty-native", handler);
      const sidecar = await pod.run({ name: "sidecar", image: node.images.busybox.ref, command: ["sleep", "100000"] });
      const s = await exec(sidecar, ["sh", "-c", 'tty; while read x; do [ "$x" = q ] && exit 3; stty size; done']);
      await eventually(() => expect(lines(s.stdout)).toContain("/dev/pts/0\n"));
      s.resize(100, 30);
      // The resize travels apart from stdin: ask for the size until it has arrived.
      await eventually(async () => {
        s.write("s\r");
        await new Promise((r) => setTimeout(r, 100));
        expect(lines(s.stdout)).toContain("30 100\n");
      });
      s.write("q\r");
      await s.closed;
      expect(s.exitCode()).toBe(3);
      await pod.remove();
    });

    it("exec -it into a Wasm container: the Wasm command sees a terminal and reads the typed line", async () => {
      const pod = await node.runPod("tty-wasm-exec", handler);
      const guest = await pod.run({ name: "guest", image: probeRef, command: ["/app/sleep.wasm", "100000000"] });
      const s = await exec(guest, ["/app/tty-probe.wasm"]);
      await eventually(() => expect(lines(s.stdout)).toContain("isatty 1 1 1\n"));
      s.resize(90, 20);
      s.write("hello\r");
      await s.closed;
      expect(lines(s.stdout)).toContain("read hello\n");
      expect(s.exitCode()).toBe(7);
      await pod.remove();
    });

    it("attach -it to a Wasm container started with tty and stdin: its log shows the terminal, stdin reaches it", async () => {
      const pod = await node.runPod("tty-attach", handler);
      const guest = await pod.run({ name: "guest", image: probeRef, stdin: true, tty: true });
      await eventually(() => expect(pod.log("guest").map((l) => l.text.replace(/\r$/, ""))).toContain("isatty 1 1 1"));
      const { url } = await node.cri.runtime.attach({
        containerId: guest,
        stdin: true,
        tty: true,
        stdout: true,
        stderr: false,
      });
      const s = new CriStream(url);
      await s.opened;
      s.resize(80, 24);
      s.write("attached\r");
      await eventually(() => expect(lines(s.stdout)).toContain("read attached\n"));
      const status = await pod.waitState(guest, ContainerState.CONTAINER_EXITED);
      expect(status.exitCode).toBe(7);
      s.close();
      await pod.remove();
    });
  });
}
