/**
 * The client side of CRI port-forward over a WebSocket (what kubelet's streaming server offers to
 * `kubectl port-forward`): PortForward answers with a URL for the ports the request named. On that
 * socket port i has two channels, data 2i and error 2i+1; every binary message starts with its
 * channel byte. The server first writes each port, as a little-endian uint16, on both of its
 * channels; after that the data channel carries the TCP stream in both directions, and the error
 * channel a message when containerd could not reach the port inside the pod's network namespace.
 */
const PROTOCOL = "v4.channel.k8s.io";

interface PortChannels {
  port: number | undefined;
  data: Uint8Array[];
  error: string;
  /** Whether the 2-byte port header has been read on the data and the error channel. */
  headers: [boolean, boolean];
}

export class PortForwardStream {
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  readonly #ws: WebSocket;
  readonly #ports: PortChannels[];
  /** Messages that broke the protocol; a listener must not throw, so they are kept for the test. */
  readonly problems: string[] = [];

  constructor(url: string, portCount: number) {
    this.#ports = Array.from({ length: portCount }, () => ({
      port: undefined,
      data: [],
      error: "",
      headers: [false, false],
    }));
    this.#ws = new WebSocket(url.replace(/^http/, "ws"), [PROTOCOL]);
    this.#ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.#ws.addEventListener("open", () => resolve(), { once: true });
      this.#ws.addEventListener("error", () => reject(new Error(`cannot open the port-forward stream ${url}`)), {
        once: true,
      });
    });
    this.closed = new Promise((resolve) => this.#ws.addEventListener("close", () => resolve(), { once: true }));
    this.#ws.addEventListener("message", (ev: MessageEvent) => this.#receive(new Uint8Array(ev.data as ArrayBuffer)));
  }

  #receive(frame: Uint8Array): void {
    if (frame.length < 1) return;
    const channel = frame[0]!;
    const p = this.#ports[channel >> 1];
    if (!p)
      return void this.problems.push(
        `a message on channel ${channel}, beyond the ${this.#ports.length} ports asked for`,
      );
    const kind = channel & 1;
    let body = frame.subarray(1);
    if (!p.headers[kind]) {
      if (body.length < 2)
        return void this.problems.push(`channel ${channel} opened with ${body.length} bytes, not a 2-byte port`);
      p.port = body[0]! | (body[1]! << 8);
      p.headers[kind] = true;
      body = body.subarray(2);
    }
    if (kind === 0) p.data.push(body.slice());
    else p.error += new TextDecoder().decode(body);
  }

  /** The port the server named on port i's channels (undefined until both headers have arrived). */
  port(i: number): number | undefined {
    const p = this.#ports[i]!;
    return p.headers[0] && p.headers[1] ? p.port : undefined;
  }

  /** Everything that came back from port i so far, as text. */
  data(i: number): string {
    return Buffer.concat(this.#ports[i]!.data).toString("utf8");
  }

  /** What the server wrote on port i's error channel. */
  error(i: number): string {
    return this.#ports[i]!.error;
  }

  write(i: number, payload: string | Uint8Array): void {
    const body = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    const frame = new Uint8Array(body.length + 1);
    frame[0] = i * 2;
    frame.set(body, 1);
    this.#ws.send(frame);
  }

  close(): void {
    this.#ws.close();
  }
}
