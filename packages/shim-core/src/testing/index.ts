export * from "./containerd.ts";
export * from "./conformance.ts";
