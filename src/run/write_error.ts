/**
 * The error of a run-folder file that could not be written (a full disk,
 * a read-only mount): one line naming the file, the cause and the fix.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";

/**
 * Whether an error is the file system running out of room: no space
 * left (`ENOSPC`) or the disk quota used up (`EDQUOT`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDiskFull } from "./write_error.ts";
 * assert.ok(isDiskFull(Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" })));
 * assert.ok(!isDiskFull(new Error("Permission denied (os error 13)")));
 * ```
 */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  return /\(os error (28|122)\)/.test(e instanceof Error ? e.message : "");
}

/**
 * The error for `path` not written because of `cause`: a one-line
 * {@linkcode UsageError} with exit code 1 (the run stopped; 2 is for bad
 * input) that names the file, says why and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeError } from "./write_error.ts";
 * const full = Object.assign(
 *   new Error("No space left on device (os error 28): writefile '/x/run/meta.json'"),
 *   { code: "ENOSPC" },
 * );
 * const e = writeError("/x/run/meta.json", full);
 * assert.equal(e.exitCode, 1);
 * assert.equal(
 *   e.message,
 *   "could not write /x/run/meta.json: No space left on device (os error 28); free space on that file system or choose another --out",
 * );
 * assert.match(
 *   writeError("/ro/run/sessions.csv", new Error("Read-only file system (os error 30)")).message,
 *   /: Read-only file system \(os error 30\); check that it is writable or choose another --out$/,
 * );
 * ```
 */
export function writeError(path: string, cause: unknown): UsageError {
  // Deno's messages may end in the call and path (": writefile '/x'"),
  // already named here.
  const why = (cause instanceof Error ? cause.message : String(cause))
    .split("\n")[0].replace(/: \w+ '[^']*'$/, "");
  const fix = isDiskFull(cause)
    ? "free space on that file system or choose another --out"
    : "check that it is writable or choose another --out";
  return new UsageError(`could not write ${path}: ${why}; ${fix}`, 1);
}
