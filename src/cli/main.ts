/**
 * What every entry point shares: bad input is one `error:` line and its
 * exit code (2), anything else one line and exit code 1 (the stack trace
 * only with `SSH_BENCH_DEBUG=1`); never a stack trace by default.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../util/errors.ts";
import { userPath } from "../util/paths.ts";
import { isRunDir } from "../run/run_dir.ts";

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

/**
 * Parses an analysis command's arguments (`--interval S`, `--out DIR`,
 * `--help`, plus `extra` options, run folders as positionals); a parse
 * error is a {@linkcode UsageError} naming the task's `--help`. The run
 * folders and `--out` are resolved against the user's folder
 * ({@linkcode userPath}).
 *
 * @example
 * ```ts
 * import { parseCommand } from "./main.ts";
 * import assert from "node:assert/strict";
 * const p = parseCommand(["--interval", "2", "/runs/A", "--out", "/tmp/c"], "charts");
 * assert.deepEqual([p.intervalMs, p.positionals, p.out], [2000, ["/runs/A"], "/tmp/c"]);
 * assert.throws(() => parseCommand(["--interval", "0"], "charts"), /--interval 0: expected a number of seconds > 0/);
 * assert.throws(() => parseCommand(["--bogus"], "report"), /see deno task report --help/);
 * // A command without intervals refuses --interval, one without files --out.
 * assert.throws(() => parseCommand(["--interval", "2"], "noise", {}, { interval: false }), /see deno task noise --help/);
 * assert.throws(() => parseCommand(["--out", "x"], "compare", {}, { out: false }), /see deno task compare --help/);
 * ```
 */
export function parseCommand(
  argv: string[],
  task: string,
  extra: NonNullable<ParseArgsConfig["options"]> = {},
  { interval: hasInterval = true, out: hasOut = true, lists = false }: {
    interval?: boolean;
    out?: boolean;
    /** Positionals are comma lists of folders (compare's `A1,A2`). */
    lists?: boolean;
  } = {},
): {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
  intervalMs: number;
  out?: string;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...(hasInterval && { interval: { type: "string" } }),
        ...(hasOut && { out: { type: "string" } }),
        help: { type: "boolean", short: "h" },
        ...extra,
      },
    });
  } catch (e) {
    throw new UsageError(
      `${(e as Error).message.split("\n")[0]}; see deno task ${task} --help`,
    );
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const interval = v.interval === undefined ? 5 : Number(v.interval);
  if (!v.help && (!Number.isFinite(interval) || interval <= 0)) {
    throw new UsageError(
      `--interval ${v.interval}: expected a number of seconds > 0`,
    );
  }
  return {
    values: v,
    positionals: parsed.positionals.map((p) =>
      lists ? p.split(",").map((x) => userPath(x)).join(",") : userPath(p)
    ),
    help: v.help === true,
    intervalMs: interval * 1000,
    out: typeof v.out === "string" ? userPath(v.out) : undefined,
  };
}

/**
 * Checks that every folder is a run folder (has `sessions.csv`).
 *
 * @throws {UsageError} one line naming the first folder that is not.
 * @example
 * ```ts
 * import { requireRunDirs } from "./main.ts";
 * import assert from "node:assert/strict";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * requireRunDirs([v1]);
 * assert.throws(() => requireRunDirs(["/nonexistent"]), /^UsageError: \/nonexistent is not a run folder \(no sessions.csv\)/);
 * ```
 */
export function requireRunDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    if (!isRunDir(d)) {
      throw new UsageError(
        `${d} is not a run folder (no sessions.csv); give folders written by deno task bench`,
      );
    }
  }
}
