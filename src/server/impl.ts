/**
 * The embedded server implementations (`--server-impl`), apart from the
 * servers themselves, so that flag parsing loads none of them.
 *
 * @module
 */

/** Which server implementation a run embeds. */
export type ServerImpl = "openssh" | "go";

/**
 * The implementations, the default first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SERVER_IMPLS } from "./impl.ts";
 * assert.deepEqual(SERVER_IMPLS, ["openssh", "go"]);
 * ```
 */
export const SERVER_IMPLS: readonly ServerImpl[] = ["openssh", "go"];
