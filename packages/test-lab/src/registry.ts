import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeManifest, sha256, type ImageLayout } from "@wasm-shims/test-fixtures";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/**
 * A read-only OCI distribution registry on 127.0.0.1 in the test process: what CRI's PullImage
 * (and `ctr image pull --plain-http`) fetch images from. No auth, no uploads. Blobs can be served
 * with other bytes than their digest says (`corrupt`), as a broken mirror would.
 */
export class TestRegistry {
  readonly #server: Server;
  readonly #manifests = new Map<string, Uint8Array>();
  readonly #blobs = new Map<string, Uint8Array>();
  /** Every request, `METHOD path`, so a test can tell what containerd fetched. */
  readonly requests: string[] = [];

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(): Promise<TestRegistry> {
    const registry = new TestRegistry();
    await new Promise<void>((resolve) => registry.#server.listen(0, "127.0.0.1", resolve));
    return registry;
  }

  /** `127.0.0.1:PORT`, the registry part of the refs it serves. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Serves `image` as `<host>/<repository>:<tag>` and returns that ref and the manifest digest. */
  add(repository: string, tag: string, image: ImageLayout): { ref: string; digest: string } {
    const manifest = encodeManifest(image);
    const digest = sha256(manifest);
    this.#manifests.set(`${repository}:${tag}`, manifest);
    this.#manifests.set(`${repository}:${digest}`, manifest);
    for (const blob of [image.config.data, ...image.layers.map((l) => l.data)]) this.#blobs.set(sha256(blob), blob);
    return { ref: `${this.host}/${repository}:${tag}`, digest };
  }

  /** From now on `digest` is answered with `bytes`. */
  corrupt(digest: string, bytes: Uint8Array): void {
    this.#blobs.set(digest, bytes);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://registry");
    const send = (status: number, body: Uint8Array, type: string, digest?: string) => {
      res.writeHead(status, {
        "content-type": type,
        "content-length": body.length,
        ...(digest ? { "docker-content-digest": digest } : {}),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const notFound = () => send(404, new TextEncoder().encode('{"errors":[{"code":"NOT_FOUND"}]}'), "application/json");
    if (url.pathname === "/v2/" || url.pathname === "/v2")
      return send(200, new TextEncoder().encode("{}"), "application/json");
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== "GET" && req.method !== "HEAD")) return notFound();
    const [, repository, kind, reference] = m as unknown as [string, string, string, string];
    if (kind === "manifests") {
      const manifest = this.#manifests.get(`${repository}:${reference}`);
      return manifest ? send(200, manifest, MANIFEST, sha256(manifest)) : notFound();
    }
    const blob = this.#blobs.get(reference);
    return blob ? send(200, blob, "application/octet-stream", reference) : notFound();
  }
}

/** config.toml lines that make CRI pull `host` over plain HTTP (containerd 1.6's registry mirrors). */
export function plainHttpMirror(host: string): string {
  return `\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors.${JSON.stringify(host)}]\n  endpoint = [${JSON.stringify(`http://${host}`)}]\n`;
}
