/**
 * ttrpc server over unix sockets: routes Requests by service/method to registered handlers.
 * Per-connection protocol handling lives in server-connection.ts.
 */
import net from "node:net";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { unimplemented } from "../errors.ts";
import type { UnaryHandler } from "./handler.ts";
import type { WireService } from "../wire/codec.ts";
import { ServerConnection } from "./server-connection.ts";
import { unaryHandlers } from "./service.ts";
import type { ServiceImpl } from "./service.ts";

export type { CallContext, UnaryHandler } from "./handler.ts";
export type { ServiceImpl } from "./service.ts";

export interface TtrpcServerOptions {
  /** Receives listener-level errors (e.g. EMFILE on accept) that are otherwise swallowed. */
  log?: (msg: string) => void;
}

export class TtrpcServer {
  readonly #services = new Map<string, Map<string, UnaryHandler>>();
  readonly #listeners = new Set<net.Server>();
  readonly #connections = new Set<ServerConnection>();
  readonly #onConnectionClosed = new Set<() => void>();
  #accepted = 0;
  readonly #log: (msg: string) => void;
  #closed = false;

  constructor(opts: TtrpcServerOptions = {}) {
    this.#log = opts.log ?? (() => {});
  }

  register(service: string, method: string, handler: UnaryHandler): void {
    this.#service(service).set(method, handler);
  }

  /**
   * The name is explicit (not desc.typeName) so one implementation can be served under several
   * names, e.g. containerd.task.v2.Task and containerd.task.v3.Task.
   */
  registerService<T extends GenServiceMethods>(
    serviceName: string,
    desc: WireService<GenService<T>>,
    impl: Partial<ServiceImpl<T>>,
  ): void {
    // Registering the service even with no methods makes unknown calls say "method", not "service".
    const methods = this.#service(serviceName);
    for (const [name, handler] of unaryHandlers(desc, impl)) methods.set(name, handler);
  }

  /** Binds a unix socket path. An existing file is an error; removing stale sockets is the caller's call. */
  listen(path: string): Promise<void> {
    return this.#listen((server, done) => server.listen(path, done));
  }

  /** Serves an already bound (typically inherited, e.g. fd 3) listening socket. */
  listenFd(fd: number): Promise<void> {
    return this.#listen((server, done) => server.listen({ fd }, done));
  }

  /** Serves a net.Server that is already listening (a spare daemon binds its pod's socket itself). */
  serveListening(server: net.Server): void {
    this.#adopt(server);
  }

  /** Connections open now, and accepted since the server started. */
  connections(): number {
    return this.#connections.size;
  }

  accepted(): number {
    return this.#accepted;
  }

  /** Resolves once no client connection is open, or after `ms`. */
  clientsGone(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#connections.size > 0) return;
        clearTimeout(timer);
        this.#onConnectionClosed.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#onConnectionClosed.delete(check);
        resolve();
      }, ms);
      this.#onConnectionClosed.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closing = [...this.#listeners].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const conn of this.#connections) {
      conn.destroy();
      closing.push(conn.closed);
    }
    this.#listeners.clear();
    await Promise.all(closing);
  }

  #service(name: string): Map<string, UnaryHandler> {
    let methods = this.#services.get(name);
    if (methods === undefined) {
      methods = new Map();
      this.#services.set(name, methods);
    }
    return methods;
  }

  #lookup = (service: string, method: string): UnaryHandler => {
    const methods = this.#services.get(service);
    if (methods === undefined) throw unimplemented(`service ${service}`);
    const handler = methods.get(method);
    if (handler === undefined) throw unimplemented(`method ${method}`);
    return handler;
  };

  #listen(start: (server: net.Server, done: () => void) => void): Promise<void> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      server.once("error", fail);
      start(server, () => {
        server.off("error", fail);
        this.#adopt(server);
        resolve();
      });
    });
  }

  #adopt(server: net.Server): void {
    this.#listeners.add(server);
    server.on("error", (err) => this.#log(`ttrpc: listener error: ${err.message}`));
    server.on("connection", (socket) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      const conn = new ServerConnection(socket, this.#lookup, () => {
        this.#connections.delete(conn);
        for (const check of this.#onConnectionClosed) check();
      });
      this.#connections.add(conn);
      this.#accepted++;
    });
  }
}
