/**
 * Where the project keeps its data, how a path the user typed is found,
 * and the UTC stamp that names run folders.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";

/** The project's root folder. */
export const ROOT_DIR: string = new URL("../..", import.meta.url).pathname;

/** The project's data folder. */
export const DATA_DIR: string = `${ROOT_DIR}data`;

/** Folder under which runs are written by default (data/runs). */
export const RUNS_DIR = `${DATA_DIR}/runs`;

/**
 * The run-to-run noise model written by `deno task noise` and read by
 * `deno task compare` (data/noise.json).
 */
export const NOISE_MODEL_PATH = `${DATA_DIR}/noise.json`;

/**
 * A path as shown to people: relative to the project when inside it.
 *
 * @example
 * ```ts
 * import { ROOT_DIR, shownPath } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shownPath(`${ROOT_DIR}data/noise.json`), "data/noise.json");
 * assert.equal(shownPath("/tmp/x"), "/tmp/x");
 * ```
 */
export function shownPath(path: string): string {
  return path.startsWith(ROOT_DIR) ? path.slice(ROOT_DIR.length) : path;
}

/**
 * A path the user typed (a run folder, `--out`, `--hosts`, ...), resolved
 * against the folder they ran the command from. `deno task` runs every
 * task in deno.json's folder and passes the user's folder in `INIT_CWD`:
 * without this, `cd data/runs && deno task charts sample-seed` would look
 * for the project's `sample-seed`. An absolute path, and any path when
 * `INIT_CWD` is unset or is the working folder already, is returned as
 * given (so what is printed stays as typed).
 *
 * @param from the user's folder; `INIT_CWD` by default.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userPath } from "./paths.ts";
 * assert.equal(userPath("sample-seed", "/home/me/runs"), "/home/me/runs/sample-seed");
 * assert.equal(userPath("../b/", "/home/me/runs"), "/home/me/b");
 * assert.equal(userPath("/data/run", "/home/me"), "/data/run");
 * // Run from the working folder itself (or not by deno task): unchanged.
 * assert.equal(userPath("data/runs/x", Deno.cwd()), "data/runs/x");
 * assert.equal(userPath("data/runs/x", ""), "data/runs/x");
 * ```
 */
export function userPath(
  path: string,
  from: string | undefined = Deno.env.get("INIT_CWD"),
): string {
  if (!from || !path || isAbsolute(path) || resolve(from) === Deno.cwd()) {
    return path;
  }
  return resolve(from, path);
}

/**
 * A compact UTC timestamp for folder names, e.g. `20261125T215336Z`.
 *
 * @example
 * ```ts
 * import { utcStamp } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(utcStamp(new Date("2026-11-25T21:53:36.887Z")), "20261125T215336Z");
 * ```
 */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/**
 * A remote command with the embedded server's temp folder (new in every
 * run, e.g. the payload's) made the same, so that runs of one command
 * compare equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameCommand } from "./paths.ts";
 * const a = sameCommand("cat /tmp/ssh-bench-sshd-2317-t556803-2a7374bae1d800d8/payload.txt");
 * assert.equal(a, "cat /tmp/ssh-bench-…/payload.txt");
 * assert.equal(sameCommand("cat /tmp/ssh-bench-sshd-3452ae27fd7f08ca/payload.txt"), a);
 * assert.equal(sameCommand("cat /etc/services"), "cat /etc/services");
 * ```
 */
export function sameCommand(command: string): string {
  return command.replace(/\/ssh-bench-(?:sshd-)?[^/ ]+\//g, "/ssh-bench-…/");
}
