export * from "./containerd.ts";
export * from "./conformance.ts";
export { criConformance, type CriConformanceOptions } from "./cri-conformance.ts";
export { eventually } from "./eventually.ts";
export { corpusConformance, type CorpusOptions } from "./corpus/suite.ts";
export { criIsolation, engineIsolation, type IsolationOptions } from "./isolation.ts";
