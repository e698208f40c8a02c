// The peers' published expectations (expectations/<runtime>/linux.toml): the tests each runtime
// skips or expects to fail. Only the TOML the suite uses is read: [[suite]] and [[suite.test]]
// tables of `key = "string"` lines.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface PeerEntry {
  /** "skip" (not run) or "fail" (run, expected to fail). */
  outcome: "skip" | "fail";
  /** The comment lines above the entry, which give the peer's reason when there is one. */
  note: string;
}

/** runtime → suite name (as in manifest.json) → test name → entry. */
export type PeerExpectations = Map<string, Map<string, Map<string, PeerEntry>>>;

function parseToml(text: string): Map<string, Map<string, PeerEntry>> {
  const suites = new Map<string, Map<string, PeerEntry>>();
  let suite: Map<string, PeerEntry> | undefined;
  let entry: { name?: string; outcome?: PeerEntry["outcome"]; note: string } | undefined;
  let comments: string[] = [];
  const flush = (): void => {
    if (suite && entry?.name && entry.outcome) suite.set(entry.name, { outcome: entry.outcome, note: entry.note });
    entry = undefined;
  };
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) comments.push(line.replace(/^#\s?/, ""));
    else if (line === "[[suite]]" || line === "[[suite.test]]") {
      flush();
      section = line;
      if (line === "[[suite.test]]") entry = { note: comments.join(" ") };
      comments = [];
    } else {
      const m = /^([\w-]+)\s*=\s*"((?:[^"\\]|\\.)*)"$/.exec(line);
      if (!m) continue;
      const [, key, value] = m as unknown as [string, string, string];
      if (section === "[[suite]]" && key === "name") suites.set(value, (suite = suites.get(value) ?? new Map()));
      else if (entry && key === "name") entry.name = value;
      else if (entry && key === "action" && value === "skip") entry.outcome = "skip";
      else if (entry && key === "expected" && value === "fail") entry.outcome ??= "fail";
    }
  }
  flush();
  return suites;
}

/** Every runtime's linux.toml under `suiteDir`/expectations, by runtime name. */
export function readPeers(suiteDir: string): PeerExpectations {
  const dir = join(suiteDir, "expectations");
  const peers: PeerExpectations = new Map();
  if (!existsSync(dir)) return peers;
  for (const runtime of readdirSync(dir).sort()) {
    const file = join(dir, runtime, "linux.toml");
    if (existsSync(file)) peers.set(runtime, parseToml(readFileSync(file, "utf8")));
  }
  return peers;
}

export function peerEntry(
  peers: PeerExpectations,
  runtime: string,
  suiteName: string,
  test: string,
): PeerEntry | undefined {
  return peers.get(runtime)?.get(suiteName)?.get(test);
}
