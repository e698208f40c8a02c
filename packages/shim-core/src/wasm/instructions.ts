import { Reader, WasmFormatError } from "./binary.ts";

/** One decoded instruction of a function body: its opcode, where it lies, and its integer immediates. */
export interface Instruction {
  /** The opcode; for prefixed ones (0xfc, 0xfd, 0xfe) the prefix, with `sub` the sub-opcode. */
  op: number;
  sub?: number;
  start: number;
  end: number;
  /** i32.const's value, call's function index, a load's [align, offset]: what the patch reads. */
  imm: number[];
}

export const OP = { call: 0x10, i32Const: 0x41, i32Load: 0x28, end: 0x0b } as const;

function blockType(r: Reader): void {
  const b = r.bytes[r.pos]!;
  // 0x40 (empty) or a value type is one byte; anything else is a type index as a signed LEB.
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.pos++;
  else if (b === 0x63 || b === 0x64) {
    r.pos++;
    r.s64();
  } else r.s64();
}

function memarg(r: Reader): number[] {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory: a memory index follows
  return [align & ~0x40, r.u32()];
}

function simd(r: Reader, sub: number): void {
  if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.skip(1);
  else if (sub >= 84 && sub <= 91) {
    memarg(r);
    r.skip(1);
  }
}

function bulk(r: Reader, sub: number): void {
  if (sub <= 7) return;
  if (sub === 8) {
    r.u32();
    r.byte();
  } else if (sub === 10) r.skip(2);
  else if (sub === 11) r.skip(1);
  else if (sub === 12 || sub === 14) {
    r.u32();
    r.u32();
  } else if (sub <= 17) r.u32();
  else throw new WasmFormatError(`unknown instruction 0xfc ${sub}`);
}

/** Decodes one instruction at r.pos; throws on an opcode it does not know. */
function instruction(r: Reader): Instruction {
  const start = r.pos;
  const op = r.byte();
  const imm: number[] = [];
  let sub: number | undefined;
  if (op === 0x02 || op === 0x03 || op === 0x04) blockType(r);
  else if (op === 0x0c || op === 0x0d || (op >= 0x20 && op <= 0x26) || op === 0xd2 || op === 0x12) imm.push(r.u32());
  else if (op === 0x0e) {
    for (let n = r.u32(); n >= 0; n--) r.u32();
  } else if (op === OP.call) imm.push(r.u32());
  else if (op === 0x11 || op === 0x13) {
    r.u32();
    r.u32();
  } else if (op === 0x1c) {
    for (let n = r.u32(); n > 0; n--) r.byte();
  } else if (op >= 0x28 && op <= 0x3e) imm.push(...memarg(r));
  else if (op === 0x3f || op === 0x40) r.u32();
  else if (op === OP.i32Const) imm.push(r.s32());
  else if (op === 0x42) r.s64();
  else if (op === 0x43) r.skip(4);
  else if (op === 0x44) r.skip(8);
  else if (op === 0xd0) blockType(r);
  else if (op === 0xfc) bulk(r, (sub = r.u32()));
  else if (op === 0xfd) simd(r, (sub = r.u32()));
  else if (op === 0xfe) {
    sub = r.u32();
    if (sub === 3) r.skip(1);
    else memarg(r);
  } else if (
    !(
      op <= 0x01 ||
      op === 0x05 ||
      op === 0x0b ||
      op === 0x0f ||
      op === 0x1a ||
      op === 0x1b ||
      (op >= 0x45 && op <= 0xc4) ||
      op === 0xd1
    )
  ) {
    throw new WasmFormatError(`unknown instruction 0x${op.toString(16)} at byte ${start}`);
  }
  return sub === undefined ? { op, start, end: r.pos, imm } : { op, sub, start, end: r.pos, imm };
}

/** A function body (locals, then instructions), decoded. Offsets are relative to `body`. */
export function decodeBody(body: Uint8Array): { codeStart: number; instructions: Instruction[] } {
  const r = new Reader(body);
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32();
    const t = r.byte();
    if (t === 0x63 || t === 0x64) blockType(r);
  }
  const codeStart = r.pos;
  const instructions: Instruction[] = [];
  while (!r.done) instructions.push(instruction(r));
  return { codeStart, instructions };
}
