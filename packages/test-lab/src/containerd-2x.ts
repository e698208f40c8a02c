import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import {
  BootstrapParamsSchema,
  LogLevel,
} from "@wasm-shims/shim-core/src/gen/containerd/runtime/bootstrap/v1/bootstrap_pb.ts";
import { OptionsSchema as RuntimeOptionsSchema } from "@wasm-shims/shim-core/src/gen/runtimeoptions/v1/options_pb.ts";

/**
 * What containerd 2.x puts on the stdin of `start`, byte for byte, for protocol tests on a machine
 * that runs only containerd 1.6. Built from the 2.x .proto definitions in proto/ (see its README),
 * the way containerd 2.3.4's pkg/shim Command fills them.
 */
export interface Containerd23Start {
  id: string;
  namespace: string;
  /** containerd's log level name (logrus): "debug" makes containerd also pass -debug. */
  level?: "trace" | "debug" | "info" | "warn" | "error";
  version?: string;
  grpcAddress: string;
  ttrpcAddress: string;
  binary?: string;
  /** `[plugins."io.containerd.shim.v1.manager"] socket_dir`; absent unless configured. */
  socketDir?: string;
  /** The runtime's options table, as containerd packs it. */
  options?: Any;
}

const levels = {
  trace: LogLevel.TRACE,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
};

/** containerd 2.3+: a BootstrapParams for every shim except runc v1 and runhcs v1. */
export function bootstrapParamsBytes(s: Containerd23Start): Uint8Array {
  return toBinary(
    BootstrapParamsSchema,
    create(BootstrapParamsSchema, {
      instanceId: s.id,
      namespace: s.namespace,
      logLevel: levels[s.level ?? "info"],
      containerdVersion: s.version ?? "2.3.4",
      containerdTtrpcAddress: s.ttrpcAddress,
      containerdGrpcAddress: s.grpcAddress,
      containerdBinary: s.binary ?? "/usr/local/bin/containerd",
      extensions: s.options ? [{ value: s.options }] : [],
      ...(s.socketDir === undefined ? {} : { socketDir: s.socketDir }),
    }),
  );
}

/** containerd 1.6 to 2.2: the options Any alone, and only for a runtime with an `options` table. */
export function legacyOptionsBytes(options: Any): Uint8Array {
  return toBinary(AnySchema, options);
}

/** CRI's options for a non-runc runtime, as `ConfigPath = …` in config.toml makes them: a bare type URL. */
export function runtimeOptions(configPath: string): Any {
  const value = toBinary(RuntimeOptionsSchema, create(RuntimeOptionsSchema, { configPath }));
  return create(AnySchema, { typeUrl: RuntimeOptionsSchema.typeName, value });
}
