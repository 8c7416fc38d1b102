/**
 * The `xcrypto` client's worker program:
 * `src/clients/workers/xcrypto/worker.go`, built into
 * `build/ssh-bench-xcrypto` on first use (see `util/go_build.ts`).
 *
 * @module
 */
import { ROOT_DIR } from "../util/paths.ts";
import { ensureGoBinary, type GoProgram } from "../util/go_build.ts";

/** The `xcrypto` client worker (Go's golang.org/x/crypto/ssh client). */
export const XCRYPTO_WORKER: GoProgram = {
  what: "the xcrypto client worker",
  source: new URL("./workers/xcrypto/worker.go", import.meta.url).pathname,
  bin: `${ROOT_DIR}build/ssh-bench-xcrypto`,
};
/**
 * Path of an up-to-date `xcrypto` worker binary
 * ({@linkcode ensureGoBinary}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureXcryptoWorker } from "./xcrypto.ts";
 * assert.match(await ensureXcryptoWorker(), /\/build\/ssh-bench-xcrypto$/);
 * ```
 */
export function ensureXcryptoWorker(): Promise<string> {
  return ensureGoBinary(XCRYPTO_WORKER);
}
