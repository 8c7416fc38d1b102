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
export * from "./clients/seam.ts";
export * from "./util/errors.ts";
export * from "./run/pool.ts";
export * from "./run/presets.ts";
export * from "./server/payload.ts";
export * from "./clients/lines.ts";
export * from "./cli/bench_args.ts";
export * from "./run/csv_sink.ts";
export * from "./util/quantile.ts";
export * from "./run/sweep.ts";
export * from "./run/summary.ts";
export * from "./server/embedded.ts";
export * from "./run/benchmark.ts";
export { loadClients } from "./clients/mod.ts";
export * as analysis from "./analysis/mod.ts";
