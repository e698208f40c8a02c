/**
 * Answers the SDK's experimental native-mount protocol (`SandboxBuilderCore.mountHost`) from
 * Node's fs, synchronously, in the SDK worker that runs the guest. Self-contained on purpose: its
 * source text is evaluated in each SDK worker (see sdk.ts), so it may use only its argument and
 * built-ins, never imports or module scope.
 */
export function installHostFs(roots: Record<number, string>): void {
  const fs = process.getBuiltinModule("node:fs");
  const path = process.getBuiltinModule("node:path");
  const files = new Map<number, number>();
  let nextId = 1;
  const kind = (st: import("node:fs").Stats) => ({ kind: st.isDirectory() ? "directory" : "file", size: st.size });
  const at = (mount: number, rel: unknown) => {
    const root = roots[mount];
    if (root === undefined) throw Object.assign(new Error(`no host mount ${mount}`), { code: "ENOENT" });
    // The core hands normalised paths relative to the mount; `..` cannot climb above the root.
    return path.join(root, path.resolve("/", String(rel)));
  };
  const fd = (id: unknown) => {
    const n = files.get(Number(id));
    if (n === undefined) throw Object.assign(new Error("bad handle"), { code: "EBADF" });
    return n;
  };
  const methods: Record<string, (mount: number, a: unknown[]) => unknown> = {
    stat: (m, [p]) => kind(fs.statSync(at(m, p))),
    readDir: (m, [p]) =>
      fs.readdirSync(at(m, p), { withFileTypes: true }).map((e) => {
        let st: ReturnType<typeof kind> = { kind: e.isDirectory() ? "directory" : "file", size: 0 };
        try {
          st = kind(fs.statSync(path.join(e.parentPath, e.name)));
        } catch {}
        return { name: e.name, ...st };
      }),
    open: (m, [p, read, write, create, createNew, truncate, append]) => {
      const c = fs.constants;
      let flags = write ? (read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY;
      if (create || createNew) flags |= c.O_CREAT;
      if (createNew) flags |= c.O_EXCL;
      if (truncate) flags |= c.O_TRUNC;
      if (append) flags |= c.O_APPEND;
      const id = nextId++;
      files.set(id, fs.openSync(at(m, p), flags, 0o666));
      return id;
    },
    read: (_m, [id, offset, length]) => {
      const buf = new Uint8Array(Number(length));
      const n = fs.readSync(fd(id), buf, 0, buf.length, Number(offset));
      return buf.subarray(0, n);
    },
    write: (_m, [id, offset, data]) => fs.writeSync(fd(id), data as Uint8Array, 0, (data as Uint8Array).length, Number(offset)),
    setLen: (_m, [id, length]) => fs.ftruncateSync(fd(id), Number(length)),
    flush: (_m, [id]) => fs.fsyncSync(fd(id)),
    close: (_m, [id]) => {
      const n = files.get(Number(id));
      files.delete(Number(id));
      if (n !== undefined) fs.closeSync(n);
    },
    mkdir: (m, [p]) => fs.mkdirSync(at(m, p)),
    remove: (m, [p]) => (fs.lstatSync(at(m, p)).isDirectory() ? fs.rmdirSync(at(m, p)) : fs.unlinkSync(at(m, p))),
    rename: (m, [from, to]) => fs.renameSync(at(m, from), at(m, to)),
    sync: () => undefined,
  };
  Object.defineProperty(globalThis, "__wasmerHostFileSystem", {
    configurable: true,
    value: (mount: number, method: string, args: unknown[]) => {
      const fn = methods[method];
      if (!fn) throw Object.assign(new Error(`unsupported host fs call ${method}`), { code: "ENOTSUP" });
      return fn(mount, args) ?? null;
    },
  });
}
