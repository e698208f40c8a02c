/** What the runtime options (config.toml's `options` table) can change about how containers run. */
export interface RuntimeOptions {
  runcBinary: string;
  runcRoot?: string;
  systemdCgroup: boolean;
}

// Apart from options.ts, so that `delete` (one boot per container) can know the defaults without
// loading the generated option messages, whose descriptors take tens of ms to build.
export const defaultOptions: RuntimeOptions = { runcBinary: "runc", systemdCgroup: false };
