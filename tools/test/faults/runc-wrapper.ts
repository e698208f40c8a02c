import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A runc that fails or waits on command: a script in front of the real runc, which the shim runs
 * when the runtime options name it as BinaryName (ctr --runtime-config-path, or a CRI handler's
 * options). Before each call it reads `control` for its subcommand (run, exec, kill, delete, pause,
 * resume, ps, events, update): `fail` exits 1 with an error (also logged as runc's JSON
 * log line when --log is given), `block` waits until release() before running the real runc.
 * Tests change the control file while containerd runs.
 */
export class RuncWrapper {
  readonly dir: string;
  readonly binary: string;
  /** `BinaryName = "…"` for a runtime options file (ctr --runtime-config-path). */
  readonly configFile: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.binary = join(dir, "runc");
    this.configFile = join(dir, "runtime.toml");
    writeFileSync(this.binary, script(dir), { mode: 0o755 });
    chmodSync(this.binary, 0o755);
    writeFileSync(this.configFile, `BinaryName = ${JSON.stringify(this.binary)}\n`);
    this.clear();
  }

  /** Every call of `subcommand` fails from now on, with `injected failure: runc <subcommand>`. */
  fail(subcommand: string): void {
    writeFileSync(join(this.dir, "control"), `${subcommand} fail\n`);
  }

  /** Calls of `subcommand` wait for release(); `blocked()` tells when one arrived. */
  block(subcommand: string): void {
    rmSync(join(this.dir, "released"), { force: true });
    rmSync(join(this.dir, `blocked-${subcommand}`), { force: true });
    writeFileSync(join(this.dir, "control"), `${subcommand} block\n`);
  }

  async blocked(subcommand: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(join(this.dir, `blocked-${subcommand}`))) {
      if (Date.now() > deadline) throw new Error(`no runc ${subcommand} arrived within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  release(): void {
    writeFileSync(join(this.dir, "released"), "");
  }

  /** Plain runc again. */
  clear(): void {
    writeFileSync(join(this.dir, "control"), "");
    this.release();
  }
}

export const injected = (subcommand: string) => `injected failure: runc ${subcommand}`;

function script(dir: string): string {
  return `#!/bin/sh
# Test wrapper: see tools/test/faults/runc-wrapper.ts.
dir=${JSON.stringify(dir)}
log=""
sub=""
prev=""
for a in "$@"; do
  case "$prev" in
    --log) log="$a"; prev=""; continue ;;
    --root|--log-format|--criu|--rootless) prev=""; continue ;;
  esac
  case "$a" in
    --log|--root|--log-format|--criu|--rootless) prev="$a" ;;
    -*) ;;
    *) sub="$a"; break ;;
  esac
done
mode=$(awk -v s="$sub" '$1 == s { print $2 }' "$dir/control" 2>/dev/null)
if [ "$mode" = fail ]; then
  msg="injected failure: runc $sub"
  [ -n "$log" ] && printf '{"level":"error","msg":"%s"}\\n' "$msg" >> "$log"
  echo "$msg" >&2
  exit 1
fi
if [ "$mode" = block ]; then
  touch "$dir/blocked-$sub"
  while [ ! -e "$dir/released" ]; do sleep 0.05; done
fi
exec runc "$@"
`;
}
