import { Client, credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { ImageService, RuntimeService } from "./gen/cri/runtime/v1/api_pb.ts";

export * from "./gen/cri/runtime/v1/api_pb.ts";

/** One unary CRI call: the request as a plain object, the decoded response back. */
type Call<I extends DescMessage, O extends DescMessage> = (
  req: MessageInitShape<I>,
  timeoutMs?: number,
) => Promise<MessageShape<O>>;
export type Calls<S extends GenServiceMethods> = { [K in keyof S]: Call<S[K]["input"], S[K]["output"]> };

/** A failed call: the gRPC status code (see `status` of @grpc/grpc-js) and containerd's message. */
export class CriError extends Error {
  readonly code: status;
  readonly details: string;
  constructor(method: string, err: ServiceError) {
    super(`${method}: ${err.details || err.message} (grpc ${status[err.code] ?? err.code})`);
    this.code = err.code;
    this.details = err.details;
  }
}

// containerd's CRI answers within a second or two here; a shim that hangs must fail the call instead.
const defaultTimeoutMs = 60_000;

function bind<S extends GenServiceMethods>(client: Client, service: GenService<S>): Calls<S> {
  const calls: Record<string, Call<DescMessage, DescMessage>> = {};
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    calls[method.localName] = (req, timeoutMs = defaultTimeoutMs) =>
      new Promise((resolve, reject) => {
        const message = create(method.input, req);
        client.makeUnaryRequest(
          path,
          (m: typeof message) => Buffer.from(toBinary(method.input, m)),
          (bytes: Buffer) => fromBinary(method.output, bytes),
          message,
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err, res) => (err ? reject(new CriError(method.name, err)) : resolve(res!)),
        );
      });
  }
  return calls as Calls<S>;
}

/**
 * The two CRI services over containerd's gRPC socket, as kubelet reaches them
 * (`--container-runtime-endpoint unix:///run/containerd/containerd.sock`).
 */
export class CriClient {
  readonly runtime: Calls<(typeof RuntimeService)["method"]>;
  readonly image: Calls<(typeof ImageService)["method"]>;
  readonly #client: Client;

  constructor(socket: string) {
    // The authority is irrelevant on a unix socket; grpc-js's default would be the percent-encoded path.
    this.#client = new Client(`unix://${socket}`, credentials.createInsecure(), {
      "grpc.default_authority": "localhost",
    });
    this.runtime = bind(this.#client, RuntimeService as GenService<(typeof RuntimeService)["method"]>);
    this.image = bind(this.#client, ImageService as GenService<(typeof ImageService)["method"]>);
  }

  close(): void {
    this.#client.close();
  }
}
