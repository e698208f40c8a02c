import {
  chownSync,
  closeSync,
  fchmodSync,
  constants,
  copyFileSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** The file's text, or undefined when it does not exist; any other problem is an error that says so. */
export function readConfig(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "EACCES" || code === "EPERM") throw new Error(`cannot read ${file}: permission denied (run as root)`);
    if (code === "EISDIR") throw new Error(`${file} is a directory, not a config.toml`);
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Replaces `file` in one step: a reader (or a crash) sees the old bytes or the new, never half.
 * The temporary file is a sibling so the rename stays on one filesystem; mode and owner are kept.
 */
export function writeAtomically(file: string, content: string | Buffer, like?: Stats, mode = 0o644): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
    try {
      fchmodSync(fd, like ? like.mode & 0o7777 : mode); // not left to the umask
      writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (like && (like.uid !== process.getuid?.() || like.gid !== process.getgid?.()))
      chownSync(tmp, like.uid, like.gid);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/** Copies `file` to `<file>.bak-<UTC time>` (never over an existing backup) and returns the name. */
export function backup(file: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  for (let n = 0; ; n++) {
    const target = `${file}.bak-${stamp}${n === 0 ? "" : `.${n}`}`;
    try {
      copyFileSync(file, target, constants.COPYFILE_EXCL);
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST")
        throw new Error(`cannot back up ${file}: ${(err as Error).message}`);
    }
  }
}

export type BinaryState = "same file" | "up to date" | "differs" | "missing";

export function binaryState(source: string, target: string): BinaryState {
  let st: Stats;
  try {
    st = statSync(target);
  } catch {
    return "missing";
  }
  if (realpathSync(source) === realpathSync(target)) return "same file";
  if (st.size !== statSync(source).size) return "differs";
  return readFileSync(source).equals(readFileSync(target)) ? "up to date" : "differs";
}

/** Rename rather than overwrite: a running shim keeps its old inode and no "text file busy". */
export function installBinary(source: string, target: string): void {
  writeAtomically(target, readFileSync(source), undefined, 0o755);
}

export function fileExists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}
