/**
 * Entry point of `deno task bench`: parses arguments, runs the benchmark,
 * prints the summary. Bad input ends with one line and exit code 2;
 * Ctrl-C with exit code 130 after the files are flushed.
 *
 * @module
 */
import { HELP, parseBenchArgs } from "./bench_args.ts";
import { UsageError } from "../util/errors.ts";
import { formatSummary } from "../run/summary.ts";
import { runBenchmark } from "../run/benchmark.ts";
import { chartsFor } from "./charts.ts";

/**
 * Runs the command line and returns the process exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./bench.ts";
 * Deno.exit(await main(["--preset", "quick"]));
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const ac = new AbortController();
  // SIGINT (Ctrl-C) and SIGTERM both stop the run cleanly.
  let signalCode = 130;
  const onSignal = (code: number) => () => {
    if (ac.signal.aborted) Deno.exit(code);
    signalCode = code;
    console.error(
      "\ninterrupted: abandoning the round in flight, flushing files, stopping sshd (Ctrl-C again to quit at once)",
    );
    ac.abort();
  };
  const onSigint = onSignal(130);
  const onSigterm = onSignal(143);
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigterm);
  try {
    const cfg = parseBenchArgs(argv);
    if (cfg === "help") {
      console.log(HELP);
      return 0;
    }
    const res = await runBenchmark(cfg, { signal: ac.signal });
    console.log(formatSummary(res.summary));
    for (const w of res.warnings) console.log(`\n${w}`);
    console.log(`\nrun ${res.status}: ${res.dir}`);
    if (cfg.charts && res.summary.length > 0) {
      try {
        const files = await chartsFor([res.dir]);
        console.log(`charts:\n${files.map((f) => `  ${f.png}`).join("\n")}`);
      } catch (e) {
        console.error(
          `warning: charts not rendered (${
            (e as Error).message.split("\n")[0]
          }); the data is intact, retry with deno task charts ${res.dir}`,
        );
      }
    }
    if (res.status === "interrupted") return signalCode;
    if (res.status === "failed") {
      console.error(`error: ${res.reason}`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (ac.signal.aborted) return signalCode;
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(
      `error: ${msg.split("\n")[0]} (set SSH_BENCH_DEBUG=1 for details)`,
    );
    if (Deno.env.get("SSH_BENCH_DEBUG")) console.error(e);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
