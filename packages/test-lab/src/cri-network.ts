import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { writeOciImage } from "@wasm-shims/test-fixtures";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { CriNode, criNamespace, type Pod } from "./cri-node.ts";
import { PortForwardStream } from "./cri-portforward.ts";
import { eventually as poll } from "./eventually.ts";

const eventually = <T>(check: () => Promise<T> | T, ms = 45_000) => poll(check, ms);
const httpGuestRef = "localhost/http-guest:test";

export interface CriNetworkOptions extends ConformanceOptions {
  /** A wasi:http component that answers every request with `body`, for engines whose guests can listen. */
  httpGuest?: { component: () => Promise<Uint8Array>; listenEnv: string; body: string };
}

/** The pid of a running container's process, from its verbose status. */
async function pidOf(node: CriNode, containerId: string): Promise<number> {
  const { info } = await node.cri.runtime.containerStatus({ containerId, verbose: true });
  const pid = (JSON.parse(info.info ?? "{}") as { pid?: number }).pid ?? 0;
  if (pid <= 0) throw new Error(`no pid for container ${containerId}`);
  return pid;
}

const netnsOf = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);

/**
 * `kubectl port-forward` to a pod whose RuntimeClass handler is `wasm-<engine>`: the pod has a
 * network namespace of its own (a CNI bridge network private to the test's containerd), the Wasm
 * containers and the native sidecars share it, and CRI PortForward reaches a port inside it through
 * containerd's streaming server, which dials from within the pod's netns.
 */
export function criNetworkConformance(opts: CriNetworkOptions): void {
  const handler = `wasm-${opts.engine}`;
  let node: CriNode;
  let imageDir: string;

  /** Opens a port-forward stream to `ports` of the pod, with both channel headers read for each. */
  const forward = async (pod: Pod, ports: number[]) => {
    const { url } = await node.cri.runtime.portForward({ podSandboxId: pod.id, port: ports });
    const s = new PortForwardStream(url, ports.length);
    await s.opened;
    await eventually(() => expect(ports.map((_, i) => s.port(i))).toEqual(ports), 10_000);
    return s;
  };

  describe(`CRI pod network and port-forward (handler ${handler})`, () => {
    beforeAll(async () => {
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        podNetwork: true,
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: { [handler]: { type: `io.containerd.${opts.engine}.v1` } },
      });
      imageDir = mkdtempSync(join(tmpdir(), "net-images-"));
      if (opts.httpGuest) {
        const tarball = join(imageDir, "http-guest.tar");
        await writeOciImage(tarball, {
          ref: httpGuestRef,
          files: [{ path: "/http.component.wasm", content: await opts.httpGuest.component(), mode: 0o755 }],
          entrypoint: ["/http.component.wasm"],
          os: "wasip1",
          architecture: "wasm",
        });
        await node.ctd.importImage(tarball, criNamespace);
      }
    });

    afterAll(async () => {
      await node?.stop();
      if (imageDir) rmSync(imageDir, { recursive: true, force: true });
    });

    afterEach(async () => {
      for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
      await eventually(async () => expect(await node.leftovers()).toEqual([]), 15_000);
    });

    it("gives the pod a netns of its own, with an IP on the node's pod network, that its Wasm and native containers share", async () => {
      const pod = await node.runPod("own-netns", handler, { podNetwork: true });
      const guest = await pod.run({
        name: "guest",
        image: node.images.fixtures.ref,
        command: ["/sleep.wasm", "100000000"],
      });
      const sidecar = await pod.run({ name: "sidecar", image: node.images.busybox.ref, command: ["sleep", "100000"] });
      const [guestNs, sidecarNs] = [netnsOf(await pidOf(node, guest)), netnsOf(await pidOf(node, sidecar))];
      expect(guestNs).toBe(sidecarNs);
      expect(guestNs).not.toBe(readlinkSync("/proc/self/ns/net"));
      // eth0 has an address on the node's pod network (our trimmed api.proto leaves out the sandbox status's network field).
      const [a, b, c] = node.network!.subnet.split(".");
      const addrs = await pod.execSync(sidecar, ["busybox", "ip", "-o", "-4", "addr", "show", "eth0"]);
      expect(addrs.stdout).toMatch(new RegExp(`inet ${a}\\.${b}\\.${c}\\.\\d+/24`));
      // While the pod runs, the leftover check sees each of its traces; after remove(), afterEach expects none.
      const traces = node.network!.leftovers().join("\n");
      expect(traces).toMatch(/^network namespace \/\S+\/netns\/cni-/m);
      expect(traces).toMatch(/^interface veth\S+ on bridge wsb/m);
      expect(traces).toMatch(new RegExp(`^IP ${a}\\.${b}\\.${c}\\.\\d+ still reserved`, "m"));
      await pod.remove();
    });

    it("forwards a port to a native sidecar listening inside the pod, both ways, on every connection", async () => {
      const pod = await node.runPod("forward-native", handler, { podNetwork: true });
      await pod.run({ name: "guest", image: node.images.fixtures.ref, command: ["/sleep.wasm", "100000000"] });
      // An echo server: -ll keeps listening, and each connection gets a `cat` of its own.
      await pod.run({
        name: "echo",
        image: node.images.busybox.ref,
        command: ["busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/cat"],
      });
      for (const word of ["first", "second"]) {
        // The first attempt may come before nc listens: then the error channel says so, and we retry.
        await eventually(async () => {
          const s = await forward(pod, [8080]);
          try {
            s.write(0, `${word} line\n`);
            await eventually(() => expect(s.data(0) + s.error(0)).toMatch(/\n|refused/), 10_000);
            expect(s.error(0)).toBe("");
            expect(s.data(0)).toBe(`${word} line\n`);
            expect(s.problems).toEqual([]);
          } finally {
            s.close();
            await s.closed;
          }
        });
      }
      await pod.remove();
    });

    it("reports a port nobody listens on over that port's error channel, and still serves the other port", async () => {
      const pod = await node.runPod("forward-refused", handler, { podNetwork: true });
      await pod.run({
        name: "echo",
        image: node.images.busybox.ref,
        command: ["busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/cat"],
      });
      await eventually(async () => {
        const s = await forward(pod, [8080, 8081]);
        try {
          s.write(0, "still here\n");
          s.write(1, "anyone?\n");
          await eventually(
            () => expect(s.error(1)).toMatch(/error forwarding port 8081 to pod .*connection refused/),
            10_000,
          );
          await eventually(() => expect(s.data(0)).toBe("still here\n"), 10_000);
          expect(s.data(1)).toBe("");
        } finally {
          s.close();
          await s.closed;
        }
      });
      await pod.remove();
    });

    if (opts.httpGuest) {
      const guest = opts.httpGuest;
      it("forwards a port to a Wasm guest serving wasi:http inside the pod", async () => {
        const pod = await node.runPod("forward-wasm", handler, { podNetwork: true });
        await pod.run({ name: "http", image: httpGuestRef, env: { [guest.listenEnv]: "127.0.0.1:8090" } });
        // The guest listens only once the shim has prepared and started it.
        await eventually(async () => {
          const s = await forward(pod, [8090]);
          try {
            s.write(0, "GET / HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n");
            await eventually(() => expect(s.data(0) + s.error(0)).toMatch(new RegExp(`${guest.body}|refused`)), 10_000);
            expect(s.error(0)).toBe("");
            expect(s.data(0)).toMatch(/^HTTP\/1\.1 200/);
            expect(s.data(0)).toContain(guest.body);
          } finally {
            s.close();
            await s.closed;
          }
        });
        await pod.remove();
      });
    }
  });
}
