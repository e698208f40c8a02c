import { describe, expect, it } from "vitest";
import { Fields, fromRawHeaders, toRawHeaders } from "../src/http/fields.ts";
import type { Live } from "../src/http/instances.ts";
import { InstancePool } from "../src/http/pool.ts";

/** A factory of numbered fake instances and a manual scheduler, so each idle turn is a step. */
function setup(opts: { reuse?: boolean; size?: number; concurrency?: number } = {}) {
  let made = 0;
  const retired: number[] = [];
  const turns: (() => void)[] = [];
  const create = (): Live & { id: number } => {
    const id = ++made;
    return { id, handle: () => undefined, retire: () => retired.push(id) };
  };
  const pool = new InstancePool(
    create,
    { reuse: false, size: 2, concurrency: 4, ...opts },
    (err) => {
      throw err;
    },
    (fn) => turns.push(fn),
  );
  const idle = () => {
    while (turns.length) turns.shift()!();
  };
  return { pool, idle, made: () => made, retired };
}

const id = (live: Live) => (live as Live & { id: number }).id;

describe("instance pool", () => {
  it("makes instances ahead in idle turns and gives each request one nobody used", async () => {
    const { pool, idle, made, retired } = setup();
    pool.fill();
    expect(made()).toBe(0); // nothing on the caller's path
    idle();
    expect(pool.ready).toBe(2);
    const a = await pool.acquire();
    expect(made()).toBe(2); // taken from the pool, not made now
    pool.release(a, true);
    expect(retired).toEqual([id(a)]); // fresh by default: never used again
    idle();
    expect(pool.ready).toBe(2);
    const b = await pool.acquire();
    expect(id(b)).not.toBe(id(a));
  });

  it("makes one on the spot when requests outrun the pool", async () => {
    const { pool, made } = setup({ size: 0 });
    const a = await pool.acquire();
    expect(made()).toBe(1);
    expect(pool.active).toBe(1);
    pool.release(a, true);
    expect(pool.active).toBe(0);
  });

  it("with reuse, serves the next request with the same instance, unless it trapped", async () => {
    const { pool, idle, retired } = setup({ reuse: true, size: 1 });
    pool.prime();
    const a = await pool.acquire();
    pool.release(a, true);
    const b = await pool.acquire();
    expect(id(b)).toBe(id(a));
    pool.release(b, false);
    expect(retired).toEqual([id(a)]);
    idle();
    const c = await pool.acquire();
    expect(id(c)).not.toBe(id(a));
  });

  it("holds requests beyond the concurrency limit until an instance is released", async () => {
    const { pool } = setup({ concurrency: 2, size: 0 });
    const a = await pool.acquire();
    await pool.acquire();
    let third: Live | undefined;
    const waiting = Promise.resolve(pool.acquire()).then((live) => (third = live));
    await Promise.resolve();
    expect(third).toBeUndefined();
    expect(pool.waiting).toBe(1);
    pool.release(a, true);
    await waiting;
    expect(third).toBeDefined();
    expect(pool.active).toBe(2);
  });

  it("retires what it holds when closed, and stops making more", () => {
    const { pool, idle, retired, made } = setup();
    pool.fill();
    idle();
    pool.close();
    expect(retired.length).toBe(2);
    pool.fill();
    idle();
    expect(made()).toBe(2);
  });
});

const bytes = (s: string) => new TextEncoder().encode(s);

describe("wasi:http fields", () => {
  it("keeps names' case, order and repeats; values are bytes", () => {
    const f = Fields.fromList([
      ["X-A", bytes("1")],
      ["x-b", bytes("2")],
      ["x-a", bytes("3")],
    ]);
    expect(f.get("x-a").map((v) => Buffer.from(v).toString())).toEqual(["1", "3"]);
    expect(f.has("X-B")).toBe(true);
    f.set("x-a", [bytes("9")]);
    expect(f.entries().map(([n, v]) => [n, Buffer.from(v).toString()])).toEqual([
      ["x-a", "9"],
      ["x-b", "2"],
    ]);
    f.append("x-b", bytes("4"));
    f.delete("X-B");
    expect(f.entries().map(([n]) => n)).toEqual(["x-a"]);
  });

  it("refuses bad syntax, the headers the server owns, and changes to locked fields", () => {
    expect(() => Fields.fromList([["bad name", bytes("x")]])).toThrow();
    expect(() => new Fields().append("x", bytes("a\r\nb"))).toThrow();
    try {
      new Fields().append("Connection", bytes("close"));
      expect.unreachable();
    } catch (err) {
      expect(err).toEqual({ tag: "forbidden" });
    }
    const locked = Fields.lock(new Fields());
    try {
      locked.append("x", bytes("y"));
      expect.unreachable();
    } catch (err) {
      expect(err).toEqual({ tag: "immutable" });
    }
  });

  it("maps Node's raw headers both ways byte for byte, dropping hop-by-hop ones", () => {
    const received = fromRawHeaders([
      "Host",
      "h",
      "X-Dup",
      "1",
      "Connection",
      "keep-alive",
      "x-dup",
      "caf\u00e9\u0080",
    ]);
    expect(received.entries().map(([n, v]) => [n, Array.from(v)])).toEqual([
      ["X-Dup", [49]],
      ["x-dup", [99, 97, 102, 0xe9, 0x80]],
    ]);
    expect(toRawHeaders(received)).toEqual(["X-Dup", "1", "x-dup", "caf\u00e9\u0080"]);
  });
});

describe("instance pool: reuse turned off", () => {
  it("retires the used instances it holds and makes fresh ones", async () => {
    const { pool, idle, retired } = setup({ reuse: true, size: 1 });
    pool.prime();
    const a = await pool.acquire();
    pool.release(a, true);
    pool.stopReuse();
    expect(retired).toEqual([id(a)]);
    idle();
    const b = await pool.acquire();
    expect(id(b)).not.toBe(id(a));
    pool.release(b, true);
    expect(retired).toEqual([id(a), id(b)]);
  });
});
