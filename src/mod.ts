/**
 * ssh-bench: benchmark SSH clients under concurrency and chart the results.
 *
 * Folders by role: `run/` (the engine: configuration, presets, sweep,
 * stages, calibration, schema, CSV sink, run record, progress, summary),
 * `server/` (the embedded sshd and its payload), `clients/` (the seam and
 * the clients), `analysis/` (polars statistics, charts, notebook display),
 * `cli/` (the entry points), `util/` (process helpers, paths, errors,
 * quantiles), `selfbench/` (benchmarks of the tool itself).
 *
 * @example
 * ```ts
 * import { parseBenchArgs, SCHEMA_VERSION } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const cfg = parseBenchArgs(["--preset", "quick"]);
 * assert.ok(cfg !== "help" && cfg.stages.length === 2);
 * assert.ok(SCHEMA_VERSION >= 2);
 * ```
 *
 * @module
 */
export * from "./clients/seam.ts";
export * from "./clients/kexinit.ts";
export { loadClients } from "./clients/registry.ts";
export * from "./util/errors.ts";
export * from "./run/config.ts";
export * from "./run/pool.ts";
export * from "./run/presets.ts";
export * from "./run/schema.ts";
export * from "./run/csv_sink.ts";
export * from "./run/record.ts";
export * from "./run/sweep.ts";
export * from "./run/stages.ts";
export * from "./run/calibration.ts";
export * from "./run/progress.ts";
export * from "./run/summary.ts";
export * from "./run/benchmark.ts";
export * from "./server/payload.ts";
export * from "./server/embedded.ts";
export { parseBenchArgs } from "./cli/bench_args.ts";
export * as analysis from "./analysis/mod.ts";
