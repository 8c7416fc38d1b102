/**
 * The one error type that reaches the user as a single line and exit code 2.
 *
 * @module
 */

/**
 * Bad input or an unusable environment: the message says what is wrong and
 * how to fix it. The command line prints it on one line and exits with 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./errors.ts";
 * const e = new UsageError("--pool 0: pool sizes start at 1; use --pool 1..30");
 * assert.equal(e.exitCode, 2);
 * assert.equal(e.message, "--pool 0: pool sizes start at 1; use --pool 1..30");
 * ```
 */
export class UsageError extends Error {
  /** Process exit code for this error. */
  readonly exitCode: number;
  /** A one-line `message` naming the problem and the fix. */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UsageError";
    this.exitCode = exitCode;
  }
}
