import { native } from "./native.ts";

/**
 * V8's flags, as node:v8's setFlagsFromString sets them, through the native helper when it is
 * loaded: node:v8 loads Node's heap utilities and streams with it, 10 ms of every runner's boot
 * on the test machine (native/v8_flags.c). Without the helper (source runs, tests), node:v8.
 */
export function setV8Flags(flags: string): void {
  try {
    if (native().setV8Flags(flags)) return;
  } catch {
    // no helper
  }
  process.getBuiltinModule("node:v8").setFlagsFromString(flags);
}
