/** Adapts a service's method table (gen/wire) plus typed handlers to byte-level UnaryHandlers. */
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { invalidArgument } from "../errors.ts";
import { decode, encode, type WireService } from "../wire/codec.ts";
import type { CallContext, UnaryHandler } from "./handler.ts";

export type ServiceImpl<T extends GenServiceMethods> = {
  [K in keyof T]: (req: MessageShape<T[K]["input"]>, ctx: CallContext) => Promise<MessageInitShape<T[K]["output"]>>;
};

type AnyTypedHandler = (req: unknown, ctx: CallContext) => Promise<unknown>;

/**
 * Returns wire method name → handler for every unary method present in impl. Methods left out are
 * simply absent, so the server answers them with its ordinary "method <name>" UNIMPLEMENTED.
 */
export function unaryHandlers<T extends GenServiceMethods>(
  desc: WireService<GenService<T>>,
  impl: Partial<ServiceImpl<T>>,
): Map<string, UnaryHandler> {
  const out = new Map<string, UnaryHandler>();
  const byLocalName = impl as Partial<Record<string, AnyTypedHandler>>;
  for (const method of desc.methods) {
    const fn = byLocalName[method.localName];
    if (fn === undefined || method.kind !== "unary") continue;
    out.set(method.name, async (payload, ctx) => {
      let req;
      try {
        req = decode(method.input, payload);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw invalidArgument(`decode ${method.input.typeName}: ${why}`);
      }
      const res = await fn.call(impl, req, ctx);
      return encode(method.output, res as never);
    });
  }
  return out;
}
