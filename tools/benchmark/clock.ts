/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the log's timestamps. */
export const wallMs = (): number => performance.timeOrigin + performance.now();
