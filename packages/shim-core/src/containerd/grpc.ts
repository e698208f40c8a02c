import { connect as netConnect } from "node:net";

export interface GrpcOptions {
  timeoutMs?: number;
  /** More request metadata, e.g. `containerd-lease`. */
  headers?: Record<string, string>;
}

/**
 * Just enough gRPC (over HTTP/2 on containerd's unix socket) for a few calls: every message is
 * framed as 1 byte "compressed" + 4 bytes big-endian length + the protobuf bytes. Sends one
 * request message (or several, for a client stream) and returns the response messages of the
 * call (one for unary, several for a server stream).
 */
export function grpcCall(
  socket: string,
  path: string,
  request: Uint8Array | Uint8Array[],
  namespace: string,
  options: number | GrpcOptions = {},
): Promise<Uint8Array[]> {
  const { timeoutMs = 3000, headers = {} } = typeof options === "number" ? { timeoutMs: options } : options;
  // Loaded on first use: node:http2 costs a daemon tens of ms to load at boot, on the path of
  // every container's start, and an ordinary Wasm image never needs containerd's API.
  const { connect: http2Connect, constants } = process.getBuiltinModule("node:http2");
  return new Promise((resolve, reject) => {
    const session = http2Connect("http://containerd", { createConnection: () => netConnect(socket) });
    const fail = (err: Error) => {
      session.destroy();
      reject(err);
    };
    session.on("error", fail);
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc",
      te: "trailers",
      "containerd-namespace": namespace,
      ...headers,
    });
    stream.setTimeout(timeoutMs, () => fail(new Error(`${path}: no answer from containerd in ${timeoutMs} ms`)));
    const chunks: Buffer[] = [];
    let status = "0";
    let message = "";
    stream.on("response", (headers) => {
      status = String(headers["grpc-status"] ?? status);
      message = String(headers["grpc-message"] ?? "");
    });
    stream.on("trailers", (trailers) => {
      status = String(trailers["grpc-status"] ?? status);
      message = decodeURIComponent(String(trailers["grpc-message"] ?? message));
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", fail);
    stream.on("end", () => {
      session.close();
      if (status !== "0") return reject(new Error(`${path}: ${message || `grpc status ${status}`}`));
      resolve(splitMessages(Buffer.concat(chunks)));
    });
    const frames = (Array.isArray(request) ? request : [request]).flatMap((message) => {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(message.length, 1);
      return [header, message];
    });
    stream.end(Buffer.concat(frames));
  });
}

function splitMessages(body: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}
