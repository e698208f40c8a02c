// "hello" as a JavaScript wasi:http handler that exports wasi:http/incoming-handler itself instead
// of using componentize-js's fetch event, which (in StarlingMonkey as componentize-js 0.23 ships
// it) cannot answer a second request from the same instance. The HTTP benchmark serves it with
// instances reused (WASI_HTTP_INSTANCE_REUSE) and fresh.
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.10";

const body = new TextEncoder().encode("hello from js\n");
const contentType = new TextEncoder().encode("text/plain;charset=UTF-8");

export const incomingHandler = {
  handle(request, responseOut) {
    const response = new OutgoingResponse(Fields.fromList([["content-type", contentType]]));
    const outgoing = response.body();
    ResponseOutparam.set(responseOut, { tag: "ok", val: response });
    const stream = outgoing.write();
    stream.blockingWriteAndFlush(body);
    OutgoingBody.finish(outgoing, undefined);
  },
};
