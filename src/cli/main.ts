/**
 * What every entry point shares: bad input is one `error:` line and its
 * exit code (2), anything else one line and exit code 1 (the stack trace
 * only with `SSH_BENCH_DEBUG=1`); never a stack trace by default.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";

/**
 * Runs an entry point's body and turns every error into one line on
 * stderr and an exit code; returns the code.
 *
 * @example
 * ```ts
 * import { runMain } from "./main.ts";
 * import { UsageError } from "../util/errors.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const code = await runMain(() => {
 *   throw new UsageError("--pool 0: use --pool 1..30");
 * }, (l) => lines.push(l));
 * assert.equal(code, 2);
 * assert.deepEqual(lines, ["error: --pool 0: use --pool 1..30"]);
 * assert.equal(await runMain(() => 0), 0);
 * ```
 */
export async function runMain(
  body: () => number | Promise<number>,
  printError: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      printError(`error: ${e.message}`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    printError(
      `error: ${msg.split("\n")[0]} (set SSH_BENCH_DEBUG=1 for details)`,
    );
    if (Deno.env.get("SSH_BENCH_DEBUG")) console.error(e);
    return 1;
  }
}
