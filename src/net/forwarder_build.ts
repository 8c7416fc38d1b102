/**
 * The forwarder binary: `build/netfwd`, compiled from `src/net/forwarder.c`
 * by `.ci/setup`, or here on first use when it is missing or older than its
 * source and gcc is installed.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { ROOT_DIR } from "../util/paths.ts";
import { run, which } from "../util/proc.ts";

/** The forwarder's C source. */
export const FORWARDER_SOURCE: string =
  new URL("./forwarder.c", import.meta.url).pathname;
/** Where the forwarder is built (git-ignored). */
export const FORWARDER_BIN = `${ROOT_DIR}build/netfwd`;
/** The compiler flags, the same as in `.ci/setup`. */
export const GCC_FLAGS = ["-O2", "-Wall", "-Wextra"];

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch {
    return undefined;
  }
}

/**
 * Path of an up-to-date forwarder binary, compiling it first when it is
 * missing or older than its source. Throws {@linkcode UsageError} when it
 * must be built and gcc is missing, or the build fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureForwarder } from "./forwarder_build.ts";
 * const bin = await ensureForwarder();
 * assert.match(bin, /\/build\/netfwd$/);
 * assert.ok(Deno.statSync(bin).isFile);
 * ```
 */
export async function ensureForwarder(): Promise<string> {
  const src = await mtime(FORWARDER_SOURCE);
  const bin = await mtime(FORWARDER_BIN);
  if (bin !== undefined && (src === undefined || bin >= src)) {
    return FORWARDER_BIN;
  }
  if (!which("gcc")) {
    throw new UsageError(
      `the packet forwarder build/netfwd is ${
        bin === undefined ? "not built" : "older than src/net/forwarder.c"
      } and gcc is not installed: run .ci/setup (installs gcc and builds it)`,
    );
  }
  await Deno.mkdir(`${ROOT_DIR}build`, { recursive: true });
  // Built under a temporary name, then renamed: a concurrent run sees the
  // old binary or the new one, never half of one.
  const tmp = `${FORWARDER_BIN}.${Deno.pid}.tmp`;
  const r = await run("gcc", [...GCC_FLAGS, "-o", tmp, FORWARDER_SOURCE]);
  if (r.code !== 0) {
    await Deno.remove(tmp).catch(() => {});
    const first = r.stderr.split("\n").find((l) => /error/.test(l)) ??
      r.stderr.trim().split("\n")[0];
    throw new UsageError(
      `building the packet forwarder failed (gcc ${
        GCC_FLAGS.join(" ")
      } -o build/netfwd src/net/forwarder.c): ${first}`,
    );
  }
  await Deno.rename(tmp, FORWARDER_BIN);
  return FORWARDER_BIN;
}
