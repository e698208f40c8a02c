import { writeSync } from "node:fs";

export type Level = "debug" | "info" | "warn" | "error";
const rank: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

function quote(value: unknown): string {
  const text = value instanceof Error ? value.message : String(value);
  return /^[\w./:@-]+$/.test(text) ? text : JSON.stringify(text);
}

/**
 * Writes logrus-style lines (what containerd's own shims emit) to a file descriptor, normally the
 * bundle's `log` FIFO that containerd copies into its log. The FIFO has no reader while containerd
 * restarts: a line that cannot be written is dropped rather than blocking or crashing the shim.
 */
export function fdLogger(fd: number, minLevel: Level, base: Record<string, unknown> = {}): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (rank[level] < rank[minLevel]) return;
    const all = { ...base, ...fields };
    const tail = Object.entries(all)
      .map(([k, v]) => ` ${k}=${quote(v)}`)
      .join("");
    try {
      writeSync(fd, `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}${tail}\n`);
    } catch {
      // EAGAIN/EPIPE while containerd is away: the line is lost, the shim goes on.
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => fdLogger(fd, minLevel, { ...base, ...fields }),
  };
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with: () => silentLogger,
};
