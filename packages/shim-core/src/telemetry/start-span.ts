import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShimFlags } from "../cli/flags.ts";
import { ATTR, loadTracing, TRACE_CONTEXT_FILE, tracingEnabled, type Attributes } from "./tracing.ts";

// `start` is on the path of every container: what it waits for to export its one span.
const START_FLUSH_MS = 1000;

/**
 * Runs `start` inside a "shim start" span when tracing is on, and leaves the span's context in the
 * bundle so that the daemon's spans of this container join its trace. Off, it only runs `start`.
 */
export async function tracedStart(
  flags: ShimFlags,
  engine: string,
  version: string,
  run: () => Promise<void>,
): Promise<void> {
  if (!tracingEnabled()) return run();
  const tracing = await loadTracing(`containerd-shim-${engine}-v1`, version);
  const attributes: Attributes = {
    [ATTR.containerId]: flags.id,
    [ATTR.namespace]: flags.namespace,
    [ATTR.engine]: engine,
    [ATTR.runtime]: `io.containerd.${engine}.v1`,
  };
  const span = tracing.startSpan("shim start", attributes);
  try {
    const image = await containerImage(flags);
    if (image) span.setAttributes({ [ATTR.image]: image });
    await writeFile(join(flags.bundle || process.cwd(), TRACE_CONTEXT_FILE), JSON.stringify(span.context)).catch(
      () => undefined,
    );
    await run();
    span.end();
  } catch (err) {
    span.end(err);
    throw err;
  } finally {
    await tracing.flush(START_FLUSH_MS);
  }
}

async function containerImage(flags: ShimFlags): Promise<string | undefined> {
  if (!flags.address || !flags.id) return undefined;
  const { ContainerdClient } = await import("../containerd/client.ts");
  return new ContainerdClient(flags.address, flags.namespace).containerImage(flags.id).catch(() => undefined);
}
