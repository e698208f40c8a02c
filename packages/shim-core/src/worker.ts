// What an engine's own worker threads import: each worker evaluates its imports again, so this
// entry stays small, unlike the package's index (the whole shim).
export { compactHeap } from "./sea/compact-heap.ts";
export { IDLE_WAIT_NS, pollWaits, SUBSCRIPTION_SIZE } from "./wasm/preview1/wait.ts";
