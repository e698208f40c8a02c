/**
 * Answers the SDK's experimental native-mount protocol (`SandboxBuilderCore.mountHost`) from
 * Node's fs, synchronously, in the SDK worker that runs the guest. Self-contained on purpose: its
 * source text is evaluated in each SDK worker (see sdk.ts), so it may use only its argument and
 * built-ins, never imports or module scope.
 */
export function installHostFs(roots: Record<number, string>): void {
  const fs = process.getBuiltinModule("node:fs");
  const path = process.getBuiltinModule("node:path");
  // A FIFO waits as it does for a native program. The SDK opens every file read-write, and O_RDWR
  // on a FIFO neither waits for the other end nor ever sees it go, so a FIFO is opened at its
  // first read or write, that way only. Anything but a regular file is read and written where it
  // stands: a FIFO or a device has no offset, and refuses a positioned read (ESPIPE, EIO here).
  interface Handle {
    fd: number | undefined;
    path: string;
    seekable: boolean;
  }
  const files = new Map<number, Handle>();
  let nextId = 1;
  const kind = (st: import("node:fs").Stats) => ({ kind: st.isDirectory() ? "directory" : "file", size: st.size });
  const at = (mount: number, rel: unknown) => {
    const root = roots[mount];
    if (root === undefined) throw Object.assign(new Error(`no host mount ${mount}`), { code: "ENOENT" });
    // The core hands normalised paths relative to the mount; `..` cannot climb above the root.
    return path.join(root, path.resolve("/", String(rel)));
  };
  const handle = (id: unknown) => {
    const h = files.get(Number(id));
    if (h === undefined) throw Object.assign(new Error("bad handle"), { code: "EBADF" });
    return h;
  };
  /** The host fd for a read (or a write, with O_WRONLY), and where to do it. */
  const use = (id: unknown, offset: unknown, flags = fs.constants.O_RDONLY) => {
    const h = handle(id);
    h.fd ??= fs.openSync(h.path, flags);
    return { fd: h.fd, position: h.seekable ? Number(offset) : null };
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
      const file = at(m, p);
      let fifo = false;
      try {
        fifo = !createNew && fs.statSync(file).isFIFO();
      } catch {}
      const fd = fifo ? undefined : fs.openSync(file, flags, 0o666);
      const id = nextId++;
      files.set(id, { fd, path: file, seekable: fd !== undefined && fs.fstatSync(fd).isFile() });
      return id;
    },
    read: (_m, [id, offset, length]) => {
      const { fd, position } = use(id, offset);
      const buf = new Uint8Array(Number(length));
      return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, position));
    },
    write: (_m, [id, offset, data]) => {
      const { fd, position } = use(id, offset, fs.constants.O_WRONLY);
      return fs.writeSync(fd, data as Uint8Array, 0, (data as Uint8Array).length, position);
    },
    setLen: (_m, [id, length]) => fs.ftruncateSync(use(id, 0).fd, Number(length)),
    // Only a regular file has anything to sync; fsync of a FIFO fails (EINVAL).
    flush: (_m, [id]) => {
      const h = handle(id);
      if (h.seekable && h.fd !== undefined) fs.fsyncSync(h.fd);
    },
    close: (_m, [id]) => {
      const h = files.get(Number(id));
      files.delete(Number(id));
      if (h?.fd !== undefined) fs.closeSync(h.fd);
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
