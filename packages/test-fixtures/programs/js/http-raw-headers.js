// A wasi:http handler written against wasi:http/types directly (no fetch event), so that header
// lists pass through as lists: every request header whose name starts with "x-" is sent back as
// a response header, in order and repeated as received; the body lists every request header
// (name and value bytes as numbers), and "x-status" picks the status code. "x-served" counts the
// requests this instance has handled (1 unless the server reuses instances).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.10";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let served = 0;

export const incomingHandler = {
  handle(request, responseOut) {
    const entries = request.headers().entries();
    served++;
    const echoed = [
      ...entries.filter(([name]) => name.toLowerCase().startsWith("x-")),
      ["x-served", encoder.encode(String(served))],
    ];
    const status = entries.find(([name]) => name.toLowerCase() === "x-status");
    const response = new OutgoingResponse(Fields.fromList(echoed));
    if (status) response.setStatusCode(Number(decoder.decode(status[1])));
    const body = response.body();
    ResponseOutparam.set(responseOut, { tag: "ok", val: response });
    const text = JSON.stringify({
      method: request.method().tag === "other" ? request.method().val : request.method().tag.toUpperCase(),
      path: request.pathWithQuery(),
      authority: request.authority(),
      headers: entries.map(([name, value]) => [name, Array.from(value)]),
    });
    const stream = body.write();
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length; off += 4096) stream.blockingWriteAndFlush(bytes.subarray(off, off + 4096));
    stream[Symbol.dispose]?.();
    OutgoingBody.finish(body, undefined);
  },
};
