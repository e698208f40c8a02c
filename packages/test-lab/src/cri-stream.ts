/**
 * The client side of CRI's streaming server (what kubectl exec/attach reach through the API
 * server and kubelet): Exec and Attach answer with a URL, which speaks Kubernetes' channel
 * protocol over a WebSocket. Every binary message starts with its channel: 0 stdin, 1 stdout,
 * 2 stderr, 3 the final status (JSON), 4 a terminal resize (JSON {Width, Height}).
 */
const PROTOCOL = "v4.channel.k8s.io";
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;

/** The final status: Success, or Failure with the exit code among its causes. */
export interface StreamStatus {
  status: "Success" | "Failure";
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

export class CriStream {
  stdout = "";
  stderr = "";
  status: StreamStatus | undefined;
  /** Settles when the server closes the stream (the process ended, or the attach was detached). */
  readonly closed: Promise<void>;
  readonly #ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.#ws = new WebSocket(url.replace(/^http/, "ws"), [PROTOCOL]);
    this.#ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.#ws.addEventListener("open", () => resolve(), { once: true });
      this.#ws.addEventListener("error", () => reject(new Error(`cannot open the stream ${url}`)), { once: true });
    });
    this.closed = new Promise((resolve) => this.#ws.addEventListener("close", () => resolve(), { once: true }));
    const text = new TextDecoder();
    this.#ws.addEventListener("message", (ev: MessageEvent) => {
      const bytes = new Uint8Array(ev.data as ArrayBuffer);
      if (bytes.length < 1) return;
      const body = text.decode(bytes.subarray(1));
      if (bytes[0] === STDOUT) this.stdout += body;
      else if (bytes[0] === STDERR) this.stderr += body;
      else if (bytes[0] === STATUS && body) this.status = JSON.parse(body) as StreamStatus;
    });
  }

  #send(channel: number, payload: string): void {
    const body = new TextEncoder().encode(payload);
    const frame = new Uint8Array(body.length + 1);
    frame[0] = channel;
    frame.set(body, 1);
    this.#ws.send(frame);
  }

  write(data: string): void {
    this.#send(STDIN, data);
  }

  resize(width: number, height: number): void {
    this.#send(RESIZE, JSON.stringify({ Width: width, Height: height }));
  }

  close(): void {
    this.#ws.close();
  }

  /** The exit code the status names (0 for Success), once the stream has closed. */
  exitCode(): number | undefined {
    if (!this.status) return undefined;
    if (this.status.status === "Success") return 0;
    const cause = this.status.details?.causes?.find((c) => c.reason === "ExitCode");
    return cause?.message !== undefined ? Number(cause.message) : -1;
  }
}
