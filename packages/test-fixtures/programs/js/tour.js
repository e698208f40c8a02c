// A WASI 0.2 command in JavaScript (componentize-js), calling the WASI interfaces directly:
//   tour fs DIR...   create, append, rename, copy, list, stat, remove under DIR/tour-js
//   tour args ARG... the arguments (not argv[0]), every CORPUS_* variable, and initial-cwd
//   tour clock MS    clocks and a sleep on a pollable
//   tour stdin       stdin to end of file
//   tour exit N      exits with N (wasi:cli/exit)
import { getArguments, getEnvironment, initialCwd } from "wasi:cli/environment@0.2.12";
import { exit } from "wasi:cli/exit@0.2.12";
import { getStdin } from "wasi:cli/stdin@0.2.12";
import { now, subscribeDuration } from "wasi:clocks/monotonic-clock@0.2.12";
import { now as wallNow } from "wasi:clocks/wall-clock@0.2.12";
import { getDirectories } from "wasi:filesystem/preopens@0.2.12";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let lines = [];
const say = (s) => lines.push(s);

function root() {
  const found = getDirectories().find(([, path]) => path === "/");
  if (!found)
    throw new Error(
      `no "/" preopen (preopens: ${getDirectories()
        .map(([, p]) => p)
        .join(", ")})`,
    );
  return found[0];
}

// Paths relative to "/" for the root descriptor; a relative DIR is taken from initial-cwd.
function rel(path) {
  const abs = path.startsWith("/") ? path : `${initialCwd() ?? "/"}/${path}`;
  return (
    abs
      .split("/")
      .filter((p) => p && p !== ".")
      .join("/") || "."
  );
}

function writeAt(dir, path, text, append) {
  const file = dir.openAt({}, path, { create: true, truncate: !append }, { write: true });
  const offset = append ? file.stat().size : 0n;
  file.write(encoder.encode(text), offset);
}

function readAt(dir, path) {
  const file = dir.openAt({}, path, {}, { read: true });
  const [bytes] = file.read(65536n, 0n);
  return decoder.decode(bytes);
}

function listing(dir, path) {
  const d = dir.openAt({}, path, { directory: true }, { read: true });
  const stream = d.readDirectory();
  const names = [];
  for (let e = stream.readDirectoryEntry(); e; e = stream.readDirectoryEntry()) {
    names.push(e.type === "directory" ? `${e.name}/` : `${e.name}(${d.statAt({}, e.name).size})`);
  }
  return names.sort().join(" ");
}

function tour(dirArg) {
  say(`== ${dirArg}`);
  const r = root();
  const t = `${rel(dirArg)}/tour-js`.replace(/^\.\//, "");
  r.createDirectoryAt(t);
  writeAt(r, `${t}/a.txt`, "alpha\n", false);
  writeAt(r, `${t}/a.txt`, "beta ünïcödé\n", true);
  const st = r.statAt({}, `${t}/a.txt`);
  say(`stat a.txt: type=${st.type} size=${st.size}`);
  r.renameAt(`${t}/a.txt`, r, `${t}/kept.txt`);
  writeAt(r, `${t}/copy.txt`, readAt(r, `${t}/kept.txt`), false);
  r.createDirectoryAt(`${t}/sub`);
  writeAt(r, `${t}/sub/n.txt`, "nested\n", false);
  say(`list: ${listing(r, t)}`);
  say(`read copy.txt: ${readAt(r, `${t}/copy.txt`).trimEnd()}`);
  r.unlinkFileAt(`${t}/copy.txt`);
  r.unlinkFileAt(`${t}/sub/n.txt`);
  r.removeDirectoryAt(`${t}/sub`);
  say(`list: ${listing(r, t)}`);
}

function sleep(ms) {
  subscribeDuration(BigInt(ms) * 1_000_000n).block();
}

function readStdin() {
  const input = getStdin();
  const chunks = [];
  for (;;) {
    try {
      chunks.push(input.blockingRead(65536n));
    } catch {
      break; // closed: end of file
    }
  }
  const text = decoder.decode(Uint8Array.from(chunks.flatMap((c) => [...c])));
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  all.forEach((l, i) => say(`${i + 1}: ${l}`));
  say(`eof after ${all.length} lines`);
}

export const run = {
  run() {
    const [, command, ...rest] = getArguments();
    let code = 0;
    try {
      if (command === "fs") {
        for (const dir of rest) tour(dir);
        say(`initial-cwd: ${initialCwd()}`);
        say(`image /etc/corpus/app.conf: ${readAt(root(), "etc/corpus/app.conf").trimEnd()}`);
      } else if (command === "args") {
        rest.forEach((a, i) => say(`arg[${i + 1}]=<${a}> (${[...a].length} chars)`));
        for (const [k, v] of getEnvironment()
          .filter(([k]) => k.startsWith("CORPUS_"))
          .sort())
          say(`env <${k}=${v}>`);
        say(`initial-cwd: ${initialCwd()}`);
      } else if (command === "clock") {
        const ms = Number(rest[0] ?? 100);
        say(`wall clock after 2020: ${wallNow().seconds > 1577836800n}`);
        const t0 = now();
        sleep(ms);
        // Less 2 ms, as in the C and Rust programs: timers count whole milliseconds.
        say(`slept ${ms} ms, at least that long: ${now() - t0 + 2_000_000n >= BigInt(ms) * 1_000_000n}`);
      } else if (command === "stdin") readStdin();
      else if (command === "exit") {
        // wasi:cli/exit@0.2 carries only ok or err: any non-zero code leaves as 1.
        code = Number(rest[0] ?? 0);
        say(`exiting with ${code}`);
      } else {
        say(`usage: tour fs|args|clock|stdin|exit (got ${command})`);
        code = 2;
      }
    } catch (err) {
      say(`error: ${err?.payload ?? err?.message ?? err}`);
      code = 1;
    }
    console.log(lines.join("\n"));
    if (code !== 0) exit({ tag: "err", val: undefined });
  },
};
