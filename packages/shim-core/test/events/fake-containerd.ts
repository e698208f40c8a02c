/** Our own TtrpcServer playing containerd's events endpoint, recording what it is sent. */
import type { Envelope } from "../../src/gen/containerd/events/forward_pb.ts";
import { Events } from "../../src/gen/wire/containerd/events/forward.ts";
import type { CallContext } from "../../src/ttrpc/server.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";

export interface Received {
  envelope: Envelope;
  metadata: Map<string, string>;
}

export class FakeContainerd {
  readonly received: Received[] = [];
  /** Calls that reached the handler, including failed ones. */
  attempts = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Runs for every call before it is recorded; throw to fail the call. */
  behaviour: (envelope: Envelope, attempt: number, ctx: CallContext) => Promise<void> = async () => {};
  readonly server = new TtrpcServer();

  constructor() {
    this.server.registerService("containerd.services.events.ttrpc.v1.Events", Events, {
      forward: async (req, ctx) => {
        this.attempts += 1;
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await this.behaviour(req.envelope!, this.attempts, ctx);
          this.received.push({ envelope: req.envelope!, metadata: ctx.metadata });
          return {};
        } finally {
          this.inFlight -= 1;
        }
      },
    });
  }

  static async start(path: string): Promise<FakeContainerd> {
    const fake = new FakeContainerd();
    await fake.server.listen(path);
    return fake;
  }

  topics(): string[] {
    return this.received.map((r) => r.envelope.topic);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
