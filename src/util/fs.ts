/**
 * File-system questions the standard library leaves to a try/catch.
 *
 * @module
 */

/**
 * Whether `path` names something that exists (a symbolic link is
 * followed: a dangling one does not count); false too when it cannot be
 * looked at (a folder on the way not searchable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists } from "./fs.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.equal(exists(dir), true);
 * assert.equal(exists(`${dir}/missing`), false);
 * Deno.symlinkSync(`${dir}/missing`, `${dir}/dangling`);
 * assert.equal(exists(`${dir}/dangling`), false);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
