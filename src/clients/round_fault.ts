/**
 * Why a round was cut short by a fault of the place it runs against (the
 * packet forwarder of an emulated link died, say), as opposed to an
 * interruption: a round's signal aborted with a {@linkcode RoundFault} as
 * its reason still yields the round's rows, failed and naming the cause,
 * where an interruption abandons the round.
 *
 * @module
 */

/**
 * A fault that ends the round in flight: its message says what died.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faultOf, RoundFault } from "./round_fault.ts";
 * const ac = new AbortController();
 * ac.abort(new RoundFault("the packet forwarder of the --rtt 20 link (pid 7) was killed by SIGKILL"));
 * assert.match(faultOf(ac.signal)?.message ?? "", /pid 7/);
 * const plain = new AbortController();
 * plain.abort();
 * assert.equal(faultOf(plain.signal), undefined);
 * ```
 */
export class RoundFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RoundFault";
  }
}

/** The fault a signal was aborted with; undefined otherwise. */
export function faultOf(
  signal: AbortSignal | undefined,
): RoundFault | undefined {
  return signal?.aborted && signal.reason instanceof RoundFault
    ? signal.reason
    : undefined;
}
