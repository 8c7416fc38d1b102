/**
 * ssh-bench: benchmark SSH clients under concurrency and chart the results.
 *
 * @example
 * ```ts ignore
 * import { parseBenchArgs, runBenchmark } from "./mod.ts";
 * const cfg = parseBenchArgs(["--preset", "quick"]);
 * if (cfg !== "help") await runBenchmark(cfg);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./pool.ts";
export * from "./presets.ts";
export * from "./payload.ts";
export * from "./lines.ts";
export * from "./args.ts";
export * from "./csv.ts";
export * from "./stats.ts";
export * from "./sweep.ts";
export * from "./report.ts";
export * from "./server.ts";
export * from "./run.ts";
export { loadClients } from "./clients/mod.ts";
export * as analysis from "./analysis/mod.ts";
