export * from "./containerd.ts";
export * from "./conformance.ts";
export { criConformance, type CriConformanceOptions } from "./cri-conformance.ts";
export { eventually } from "./eventually.ts";
export { corpusConformance, type CorpusOptions } from "./corpus/suite.ts";
export { terminalConformance } from "./terminal-conformance.ts";
export { criTerminalConformance } from "./cri-terminal.ts";
export { criSecurityConformance } from "./cri-security.ts";
export { criIsolation, engineIsolation, type IsolationOptions } from "./isolation.ts";
