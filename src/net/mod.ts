/**
 * Emulated network links: a namespace for the server behind a packet-level
 * delay (RTT/2 per direction, order kept), optional loss and rate limit.
 *
 * @example Needs root (network namespaces and TUN devices), so not run by `deno test --doc`; tests/net_test.ts runs these lines as root and reports them as ignored otherwise
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { EmulatedLink, linkResources } from "./mod.ts";
 * // Not root: start() throws "emulated round-trip times need root ...".
 * const link = await EmulatedLink.start({ rttMs: 10 });
 * assert.ok(linkResources().namespaces.includes(link.namespace));
 * await link.stop();
 * assert.ok(!linkResources().namespaces.includes(link.namespace));
 * ```
 *
 * @module
 */
export * from "./emulated_link.ts";
export {
  cleanupStale,
  type LinkResources,
  linkResources,
  NETNS_PREFIX,
} from "./netns.ts";
export { ensureForwarder, FORWARDER_BIN } from "./forwarder_build.ts";
