import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Where the node's secret for sealing precompiled blobs is kept: a root-only file, made on first use. */
export const PRECOMPILE_KEY_ENV = "WASM_SHIM_PRECOMPILE_KEY";
const defaultKeyFile = (engine: string) => `/var/lib/containerd-shim-${engine}-v1/precompile.key`;
const KEY_BYTES = 32;

/** The directory of the node's precompile key, root-only: the shim's state on the node (verdicts.ts). */
export const shimStateDir = (engine: string, env: NodeJS.ProcessEnv = process.env): string =>
  dirname(env[PRECOMPILE_KEY_ENV] || defaultKeyFile(engine));

const secrets = new Map<string, Promise<Uint8Array>>();

/**
 * The node's secret (per engine): anyone who can write containerd's content store or its labels
 * can put a blob there, but only a holder of this key can make one the shim will run. Created
 * atomically (link fails if another daemon won the race; then its key is read).
 */
export function precompileSecret(engine: string, env: NodeJS.ProcessEnv = process.env): Promise<Uint8Array> {
  const file = env[PRECOMPILE_KEY_ENV] || defaultKeyFile(engine);
  let secret = secrets.get(file);
  if (!secret) {
    secret = readOrCreate(file);
    secrets.set(file, secret);
    secret.catch(() => secrets.delete(file));
  }
  return secret;
}

async function readOrCreate(file: string): Promise<Uint8Array> {
  const existing = await readKey(file);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx" });
  try {
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  const key = await readKey(file);
  if (!key) throw new Error(`${file} holds no ${KEY_BYTES}-byte key`);
  return key;
}

async function readKey(file: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = await readFile(file);
    if (bytes.length !== KEY_BYTES) throw new Error(`${file} is ${bytes.length} bytes, not a ${KEY_BYTES}-byte key`);
    return new Uint8Array(bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
