import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { open } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { collect, fifo } from "./fifos.ts";
import { RuncService } from "./runc-service.ts";

const shim = new RuncService();
const { svc } = shim;
afterAll(() => shim.close());

const ptyDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("wasm-shim-pty-"));
const start = (id: string, execId = "") => svc.start(create(pb.StartRequestSchema, { id, execId }));
const wait = (id: string, execId = "") => svc.wait(create(pb.WaitRequestSchema, { id, execId }));
const resize = (id: string, width: number, height: number, execId = "") =>
  svc.resizePty(create(pb.ResizePtyRequestSchema, { id, execId, width, height }));

describe("terminals (runc's console socket)", () => {
  it("gives the init a pty on 0–2 with the size ResizePty set, one output stream, and leaves no console socket", async () => {
    const before = ptyDirs();
    // The size set before Start is the pty's from the first instruction on: no polling.
    const { id, req, bundle } = shim.request(
      ["/bin/busybox", "sh", "-c", "/bin/busybox tty; /bin/busybox stty size; echo to-stderr >&2; exit 3"],
      (s) => (s.process!.terminal = true),
    );
    const out = fifo(bundle, "tty-out");
    const reader = collect(out);
    await svc.create({ ...req, stdout: out, stderr: "", terminal: true });
    await resize(id, 120, 40);
    const waiting = wait(id);
    await start(id);
    expect(await waiting).toMatchObject({ exitStatus: 3 });
    await reader.ended;
    expect(reader.text()).toBe("/dev/pts/0\r\n40 120\r\nto-stderr\r\n");
    expect(ptyDirs()).toEqual(before);
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });

  it("runs an exec with a terminal sized before Start, copies stdin to it, and resizes it while it runs", async () => {
    const { id, req, bundle } = shim.request(["/bin/busybox", "sleep", "100"]);
    await svc.create(req);
    await start(id);
    const stdin = fifo(bundle, "e1-in");
    const out = fifo(bundle, "e1-out");
    const reader = collect(out);
    const spec = {
      args: [
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox stty size; read a; /bin/busybox stty size; read b; echo got $a $b",
      ],
      cwd: "/",
      env: ["PATH=/bin"],
      user: { uid: 0, gid: 0 },
    };
    await svc.exec(
      create(pb.ExecProcessRequestSchema, {
        id,
        execId: "e1",
        terminal: true,
        stdin,
        stdout: out,
        spec: {
          typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
          value: new TextEncoder().encode(JSON.stringify(spec)),
        },
      }),
    );
    await resize(id, 70, 20, "e1");
    const waiting = wait(id, "e1");
    await start(id, "e1");
    const until = async (text: string) => {
      for (let i = 0; i < 500 && !reader.text().includes(text); i++) await new Promise((r) => setTimeout(r, 10));
    };
    // The client's writer comes and goes twice: the shim's own writer keeps it from being an EOF.
    const write = async (text: string) => {
      // Asynchronous: a blocking open would wait for the shim's reader, in this very process.
      const client = await open(stdin, "w");
      await client.write(text);
      await client.close();
    };
    // Echo and output interleave however the process is scheduled: each line waits for the answer before it.
    await until("20 70\r\n");
    await resize(id, 99, 11, "e1");
    await write("one\n");
    await until("11 99\r\n");
    await write("two\n");
    expect(await waiting).toMatchObject({ exitStatus: 0 });
    await reader.ended;
    // The pty echoes what it reads (one, two), then the exec prints.
    expect(reader.text()).toBe("20 70\r\none\r\n11 99\r\ntwo\r\ngot one two\r\n");
    await svc.delete(create(pb.DeleteRequestSchema, { id, execId: "e1" }));
    await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await wait(id);
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });

  it("fails Start with runc's reason when the request wants a terminal the process spec does not, leaving no socket", async () => {
    const before = ptyDirs();
    const { id, req, bundle } = shim.request(["/bin/busybox", "true"]);
    await svc.create({ ...req, stdout: fifo(bundle, "out"), stderr: "", terminal: true });
    await expect(start(id)).rejects.toThrow(/failed to start task: .*console socket/);
    expect(ptyDirs()).toEqual(before);
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
    expect(svc.containers.has(id)).toBe(false);
  });

  it("CloseIO ends stdin: the master closes and the process sees its terminal hang up", async () => {
    const { id, req, bundle } = shim.request(["/bin/busybox", "cat"], (s) => (s.process!.terminal = true));
    const stdin = fifo(bundle, "in");
    const out = fifo(bundle, "out");
    const reader = collect(out);
    // containerd opens its writer before Start and keeps it until the client is done.
    const client = openSync(stdin, constants.O_RDWR);
    await svc.create({ ...req, stdin, stdout: out, stderr: "", terminal: true });
    const waiting = wait(id);
    await start(id);
    execFileSync("sh", ["-c", "printf 'hi\\n' >&3"], { stdio: ["ignore", "ignore", "inherit", client] });
    for (let i = 0; i < 200 && !reader.text().includes("hi\r\nhi\r\n"); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(reader.text()).toBe("hi\r\nhi\r\n");
    await svc.closeIO(create(pb.CloseIORequestSchema, { id, stdin: true }));
    closeSync(client);
    // As PID 1, cat ignores the hang-up's SIGHUP; its next read fails (EIO: exit 1) or, once the
    // kernel has hung the terminal up, reads end of file (exit 0): either way it ends.
    expect([0, 1]).toContain((await waiting).exitStatus);
    await reader.ended;
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
