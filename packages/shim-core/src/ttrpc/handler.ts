/** What a ttrpc method implementation sees; shared by the server and the typed service adapter. */

export interface CallContext {
  service: string;
  method: string;
  /** Keys lowercased, as Go ttrpc does; a repeated key keeps its last value. */
  metadata: Map<string, string>;
  /** The caller's remaining deadline in ns; 0n when none was sent. Honouring it is optional. */
  timeoutNano: bigint;
  /** Aborted when the connection that carried the request closes. */
  signal: AbortSignal;
}

export type UnaryHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;
