/**
 * Hostile and broken requests to Create, with real runc: each gets a clear INVALID_ARGUMENT naming
 * the problem before anything runs, and leaves no container, mount, runc state or stray file
 * behind. The handlers after Create: hostile-handlers.test.ts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { OptionsSchema as RuntimeOptions } from "../../src/gen/runtimeoptions/v1/options_pb.ts";
import type { TaskService } from "../../src/task/service.ts";
import { HostileService, refused } from "./hostile-service.ts";

const hs = new HostileService();
const request = hs.request;
let svc: TaskService;
// Nothing of a refused request may stay: no container in the shim or in runc, no mount.
hs.hooks((s) => (svc = s));

describe("Create refuses a broken config.json", () => {
  it("that is not JSON, not UTF-8, or JSON but not a spec", async () => {
    const cases: [string | Buffer, RegExp][] = [
      ["{not json", /config.json is not valid JSON/],
      [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /config.json is not valid UTF-8/],
      ["null", /config.json is not an OCI runtime spec: it holds null, not an object/],
      ['["a"]', /it holds a list, not an object/],
      ['"spec"', /it holds a string, not an object/],
      ["{}", /config.json has no process to run/],
    ];
    for (const [content, message] of cases) {
      const { bundle, req } = request();
      writeFileSync(join(bundle, "config.json"), content);
      await refused(svc.create(req), message);
    }
  });

  it("that is missing, a directory or a FIFO, without blocking", async () => {
    const { bundle, req } = request();
    rmSync(join(bundle, "config.json"));
    await refused(svc.create(req), /cannot read .*config.json: .*ENOENT/);
    mkdirSync(join(bundle, "config.json"));
    await refused(svc.create(req), /cannot read .*config.json: not a regular file/);
    rmdirSync(join(bundle, "config.json"));
    execFileSync("mkfifo", [join(bundle, "config.json")]);
    await refused(svc.create(req), /cannot read .*config.json: not a regular file/);
  });
});

describe("Create refuses a spec runc could not run", () => {
  it("with a missing root filesystem", async () => {
    const { req } = request(undefined, (s) => (s.root = { path: "/nonexistent/rootfs" }));
    await refused(svc.create(req), /the root filesystem \/nonexistent\/rootfs does not exist/);
  });

  it("with a huge argv or env", async () => {
    await refused(
      svc.create(request(["/bin/busybox", "echo", "x".repeat(200_000)]).req),
      /process.args\[2\] is 200000 bytes long; the kernel passes at most 131071/,
    );
    const env = Array.from({ length: 20 }, (_, i) => `V${i}=${"x".repeat(120_000)}`);
    await refused(
      svc.create(request(undefined, (s) => (s.process!.env = env)).req),
      /process.args and .env take \d+ bytes; execve allows at most 2097152/,
    );
  });

  it("with no args, a relative cwd, a NUL in an argument, or env without '='", async () => {
    await refused(svc.create(request([]).req), /process.args is empty: the image sets no entrypoint or command/);
    await refused(
      svc.create(request(undefined, (s) => (s.process!.cwd = "relative")).req),
      /process.cwd must be an absolute path, not "relative"/,
    );
    await refused(svc.create(request(["/bin/busybox", "echo", "a\0b"]).req), /process.args\[2\] contains a NUL byte/);
    await refused(
      svc.create(request(undefined, (s) => (s.process!.env = ["PATH"])).req),
      /process.env\[0\] "PATH" is not NAME=value/,
    );
  });

  it("with an absurd mount type, in the spec or in the request's rootfs", async () => {
    const spec = request(undefined, (s) => s.mounts!.push({ destination: "/x", type: "frobfs", source: "none" }));
    await refused(svc.create(spec.req), /mounts\[\d+\] \(\/x\): this kernel has no filesystem type "frobfs"/);
    const rootfs = request();
    rootfs.req.rootfs = [
      { $typeName: "containerd.types.Mount", type: "ext4", source: "/dev/null", target: "", options: ["loop"] },
    ];
    await refused(svc.create(rootfs.req), /rootfs mount 0 \(ext4\): type "ext4" is not supported/);
    expect(existsSync(join(rootfs.bundle, "rootfs"))).toBe(false);
  });

  it("but runs one whose cwd does not exist yet: runc creates it, as for runc's own shim", async () => {
    const { id, req, out } = request(["/bin/busybox", "pwd"], (s) => (s.process!.cwd = "/made/by/runc"));
    await svc.create(req);
    await svc.start(create(pb.StartRequestSchema, { id }));
    expect(await svc.wait(create(pb.WaitRequestSchema, { id }))).toMatchObject({ exitStatus: 0 });
    expect(readFileSync(out, "utf8")).toBe("/made/by/runc\n");
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});

describe("Create refuses requests that would make the shim act outside the bundle", () => {
  it("ids that are not containerd identifiers", async () => {
    for (const id of ["", "../escape", "a/b", "-rf", "x".repeat(77), "a..b", "a\0b"]) {
      const { req } = request();
      req.id = id;
      await refused(svc.create(req), /container id .*(must not be empty|characters long|must be letters and digits)/);
    }
  });

  it("a bundle that is relative, unclean, a file or a symlink", async () => {
    const { bundle, req } = request();
    const link = `${bundle}-link`;
    symlinkSync(bundle, link);
    hs.bundles.push(link);
    for (const [path, message] of [
      ["relative", /is not a clean absolute path/],
      [`${bundle}/../${bundle.split("/").at(-1)}`, /is not a clean absolute path/],
      [`${bundle}/`, /is not a clean absolute path/],
      [join(bundle, "config.json"), /is not a directory/],
      [link, /is not a directory/],
    ] as const) {
      await refused(svc.create({ ...req, bundle: path }), message);
    }
  });

  it("stdio that is a regular file given as a FIFO path, or a FIFO given as a file:// log", async () => {
    const { bundle, req } = request();
    writeFileSync(join(bundle, "precious"), "keep me");
    await refused(
      svc.create({ ...req, stdout: join(bundle, "precious") }),
      /stdout ".*precious": .*precious is not a FIFO/,
    );
    execFileSync("mkfifo", [join(bundle, "fifo")]);
    await refused(
      svc.create({ ...req, stderr: `file://${join(bundle, "fifo")}` }),
      /stderr ".*fifo": .*fifo is not a regular file/,
    );
    await refused(svc.create({ ...req, stdin: join(bundle, "nonexistent") }), /stdin .*ENOENT/);
    expect(readFileSync(join(bundle, "precious"), "utf8")).toBe("keep me");
  });

  it("runtime options that do not decode, or name a file that is not one", async () => {
    const { bundle, req } = request();
    await refused(
      svc.create({
        ...req,
        options: {
          $typeName: "google.protobuf.Any",
          typeUrl: "containerd.runc.v1.Options",
          value: new Uint8Array([0x52, 0x01, 0xff]),
        },
      }),
      /cannot decode the runtime options \(containerd.runc.v1.Options\)/,
    );
    execFileSync("mkfifo", [join(bundle, "options.fifo")]);
    for (const path of ["/dev/zero", join(bundle, "options.fifo")]) {
      const options = anyPack(RuntimeOptions, create(RuntimeOptions, { configPath: path }));
      await refused(svc.create({ ...req, options }), /runtime options file .*: not a regular file/);
    }
  });
});
