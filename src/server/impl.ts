/**
 * The embedded server implementations (`--server-impl`), apart from the
 * servers themselves, so that flag parsing loads none of them.
 *
 * @module
 */

/** Which server implementation a run embeds. */
export type ServerImpl = "openssh" | "go";

/**
 * The implementations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SERVER_IMPL, SERVER_IMPLS } from "./impl.ts";
 * assert.deepEqual(SERVER_IMPLS, ["go", "openssh"]);
 * assert.equal(DEFAULT_SERVER_IMPL, SERVER_IMPLS[0]);
 * ```
 */
export const SERVER_IMPLS: readonly ServerImpl[] = ["go", "openssh"];

/**
 * The command line's default: the Go server, whose CPU per session is
 * below the clients' own, so that on a small machine the clients, not the
 * server, set the wall times (README, "The headline"; docs/results.md).
 * `--server-profile` and `--server-max-startups` are sshd's: given without
 * `--server-impl`, they choose openssh.
 */
export const DEFAULT_SERVER_IMPL: ServerImpl = "go";
