/**
 * The embedded Go server's program: `src/server/go/server.go`, built into
 * `build/ssh-bench-server` on first use (see `util/go_build.ts`).
 *
 * @module
 */
import { ROOT_DIR } from "../util/paths.ts";
import { ensureGoBinary, type GoProgram } from "../util/go_build.ts";

/** The Go server's source. */
export const GO_SERVER_SOURCE: string =
  new URL("./go/server.go", import.meta.url).pathname;
/** Where it is built (git-ignored). */
export const GO_SERVER_BIN = `${ROOT_DIR}build/ssh-bench-server`;
/** The embedded Go server. */
export const GO_SERVER: GoProgram = {
  what: "the Go server",
  source: GO_SERVER_SOURCE,
  bin: GO_SERVER_BIN,
};
/**
 * Path of an up-to-date Go server binary ({@linkcode ensureGoBinary}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureGoServer } from "./go_program.ts";
 * const bin = await ensureGoServer();
 * assert.match(bin, /\/build\/ssh-bench-server$/);
 * assert.ok(Deno.statSync(bin).isFile);
 * ```
 */
export function ensureGoServer(): Promise<string> {
  return ensureGoBinary(GO_SERVER);
}
