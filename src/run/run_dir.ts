/**
 * What makes a folder a run folder, for every command that takes one.
 *
 * @module
 */
import { exists } from "../util/fs.ts";

/**
 * Whether `dir` is a run folder: it has `sessions.csv`, or (a committed
 * sample kept small) `sessions.csv.gz`.
 *
 * @example
 * ```ts
 * import { isRunDir } from "./run_dir.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isRunDir(new URL("../../data/runs/sample-seed", import.meta.url).pathname));
 * assert.ok(!isRunDir("/nonexistent"));
 * ```
 */
export function isRunDir(dir: string): boolean {
  return exists(`${dir}/sessions.csv`) || exists(`${dir}/sessions.csv.gz`);
}
