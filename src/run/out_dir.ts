/**
 * Whether a run can be written where it is asked to go, checked before
 * anything starts (workers, sshd, calibration), so an unusable `--out`
 * costs nothing and a refused folder never gains a file.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";

/**
 * What a run writes into its folder: a folder holding any of these already
 * holds (part of) a run, and a new run there would mix with it.
 */
export const RUN_FILES: readonly string[] = [
  "meta.json",
  ".meta.json.tmp",
  "sessions.csv",
  "rounds.csv",
  "summary.csv",
  "intervals.csv",
  "hosts.csv",
  "workers",
  "charts",
  "report.html",
  "report.md",
];

/** The nearest path at or above `path` that exists, with what it is. */
function nearestExisting(
  path: string,
): { path: string; info: Deno.FileInfo } {
  let p = path.replace(/\/+$/, "") || "/";
  for (;;) {
    try {
      return { path: p, info: Deno.statSync(p) };
    } catch (e) {
      const missing = e instanceof Deno.errors.NotFound ||
        e instanceof Deno.errors.NotADirectory;
      if (!missing || p === "/" || p === ".") {
        throw e;
      }
      const up = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ".";
      p = up === "" ? "/" : up;
    }
  }
}

/** Why `dir` (an existing folder) takes no new file, or undefined. */
function notWritable(dir: string): string | undefined {
  let probe: string | undefined;
  try {
    // Removed at once; a folder that refuses it never gains it.
    probe = Deno.makeTempFileSync({ dir, prefix: ".ssh-bench-probe-" });
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    if (/os error 30|read-only/i.test(msg)) return "a read-only file system";
    if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
    return msg.split("\n")[0].replace(/:? *\(os error \d+\).*$/, "") ||
      "it refuses new files";
  } finally {
    if (probe) Deno.removeSync(probe);
  }
}

/**
 * Checks that a run can be written to `dir`: an existing folder must hold
 * no run's files ({@linkcode RUN_FILES}) and take new files; a missing one
 * must be creatable (its nearest existing parent a writable folder). With
 * `inside`, `dir` is where a new run folder will be made (`data/runs`
 * without `--out`): it only needs to be, or become, a writable folder.
 * Writes nothing that stays.
 *
 * @param o.flag how the folder was given, for the message (default `--out`).
 * @throws {UsageError} one line naming the folder, the problem and the fix.
 * @example
 * ```ts
 * import { checkOutDir } from "./out_dir.ts";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * checkOutDir(`${dir}/run`); // a new folder under a writable one
 * checkOutDir(dir); // an empty folder
 * checkOutDir(dir, { inside: true }); // where new run folders are made
 * Deno.writeTextFileSync(`${dir}/meta.json`, "{}");
 * assert.throws(() => checkOutDir(dir), /already holds a run's files \(meta\.json\)/);
 * checkOutDir(dir, { inside: true });
 * assert.throws(() => checkOutDir(`${dir}/meta.json`), /is a file, not a folder/);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["meta.json"]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function checkOutDir(
  dir: string,
  o: { flag?: string; inside?: boolean } = {},
): void {
  const flag = `${o.flag ?? "--out"} ${dir}`;
  const fix =
    "choose another --out (a new folder, or one without a run, that you can write to)";
  let found: { path: string; info: Deno.FileInfo };
  try {
    found = nearestExisting(dir);
  } catch (e) {
    throw new UsageError(
      `${flag}: cannot look at it (${
        (e as Error).message.split("\n")[0]
      }); ${fix}`,
    );
  }
  const { path, info } = found;
  const self = path === (dir.replace(/\/+$/, "") || "/");
  if (!info.isDirectory) {
    throw new UsageError(
      self
        ? `${flag} is a file, not a folder; ${fix}`
        : `${flag}: ${path} is a file, so the folder cannot be made under it; ${fix}`,
    );
  }
  if (self && !o.inside) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(path)].map((e) => e.name);
    } catch (e) {
      throw new UsageError(
        `${flag}: cannot list it (${
          (e as Error).message.split("\n")[0]
        }); ${fix}`,
      );
    }
    const held = RUN_FILES.filter((f) => names.includes(f));
    if (held.length > 0) {
      throw new UsageError(
        `${flag} already holds a run's files (${
          held.join(", ")
        }); ${fix}, or remove them`,
      );
    }
  }
  const why = notWritable(path);
  if (why !== undefined) {
    throw new UsageError(
      `${flag}: ${self ? "it" : path} takes no new files (${why}); ${fix}`,
    );
  }
}
