/**
 * Entry point of `deno task bench`: parses arguments, runs the benchmark,
 * prints the summary, then renders the charts in a separate process. Exit
 * codes: 0 a complete run; 1 a run that stopped (sshd died, an error);
 * 2 bad input (one line, before anything starts where it can be told);
 * 3 a complete run in which more of some client's sessions failed than
 * `--max-failures` allows; 130 after Ctrl-C (143 for SIGTERM), once the
 * files are flushed.
 *
 * The measuring process never loads the analysis stack (polars, vega,
 * resvg): nothing here imports `src/analysis/`, and the charts come from
 * `deno task charts` run as a child once the sweep is over, so the sweep's
 * CPU and RSS are the benchmark's own.
 *
 * @module
 */
import { HELP, parseBenchArgs } from "./bench_args.ts";
import { runMain } from "./main.ts";
import { which } from "../util/proc.ts";
import {
  formatNegotiated,
  formatRoundTrips,
  formatSummary,
} from "../run/summary.ts";
import { formatHostSummary } from "../run/host_summary.ts";
import { runBenchmark } from "../run/benchmark.ts";

/**
 * Exit code of a complete run in which more of some client's sessions
 * failed than `--max-failures` allows.
 */
export const EXIT_TOO_MANY_FAILURES = 3;

/** The charts entry point, run as a child process. */
const CHARTS_CLI = new URL("./charts.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
/** setpriv (util-linux), for a parent-death signal; undefined where absent. */
const SETPRIV = which("setpriv");

/**
 * Renders a run's charts with `deno task charts`, then writes its report
 * (`report.html`, `report.md`) with `deno task report`, each in a child
 * process, passing the paths they print through. Returns whether both
 * succeeded.
 */
async function renderCharts(dir: string): Promise<boolean> {
  const steps = [
    {
      name: "charts",
      failed: "charts not rendered",
      cli: CHARTS_CLI,
      shown: (l: string) => l.endsWith(".png"),
    },
    {
      name: "report",
      failed: "report not written",
      cli: new URL("./report.ts", import.meta.url).pathname,
      shown: (l: string) => l.endsWith(".html") || l.endsWith(".md"),
    },
  ];
  let ok = true;
  for (const step of steps) {
    const retry =
      `the data is intact, retry with deno task ${step.name} ${dir}`;
    try {
      // It dies with this process, even on SIGKILL.
      const argv = [
        ...(SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []),
        Deno.execPath(),
        "run",
        "-A",
        "--config",
        CONFIG,
        step.cli,
        dir,
      ];
      const out = await new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const files = dec.decode(out.stdout).split("\n").filter(step.shown);
      if (out.code === 0) {
        console.log(
          `${step.name}:\n${files.map((f) => `  ${f}`).join("\n")}`,
        );
        // What the step says about the run (charts left out, torn rows).
        for (const l of dec.decode(out.stderr).split("\n")) {
          if (/^(note|warning): /.test(l)) console.log(`  ${l}`);
        }
        continue;
      }
      const why = dec.decode(out.stderr).trim().split("\n").at(-1) ?? "";
      console.error(`warning: ${step.failed} (${why}); ${retry}`);
    } catch (e) {
      console.error(
        `warning: ${step.failed} (${
          (e as Error).message.split("\n")[0]
        }); ${retry}`,
      );
    }
    ok = false;
  }
  return ok;
}

/**
 * Runs the command line and returns the process exit code.
 *
 * @example
 * ```ts
 * import { main } from "./bench.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await main(["--pool", "0"]), 2); // one error line, exit 2
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const ac = new AbortController();
  // SIGINT (Ctrl-C) and SIGTERM both stop the run cleanly.
  let signalCode = 130;
  const onSignal = (code: number) => () => {
    if (ac.signal.aborted) {
      // Exit hooks (util/exit_hooks.ts) still stop sshd, the workers and
      // the links, remove temp dirs and cgroups, and end meta.json.
      console.error("quitting at once");
      Deno.exit(code);
    }
    signalCode = code;
    console.error(
      "\ninterrupted: abandoning the round in flight, flushing files, stopping the server and workers (Ctrl-C again to quit at once)",
    );
    ac.abort();
  };
  const onSigint = onSignal(130);
  const onSigterm = onSignal(143);
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigterm);
  try {
    const code = await runMain(async () => {
      const cfg = parseBenchArgs(argv);
      if (cfg === "help") {
        console.log(HELP);
        return 0;
      }
      const res = await runBenchmark(cfg, { signal: ac.signal });
      console.log(formatSummary(res.summary));
      const hosts = formatHostSummary(res.hostSummary);
      if (hosts) console.log(`\nby host:\n${hosts}`);
      if (res.server) console.log(`\nserver: ${res.server} (embedded)`);
      const negotiated = formatNegotiated(res.negotiated);
      if (negotiated) console.log(`${res.server ? "" : "\n"}${negotiated}`);
      const trips = formatRoundTrips(res.roundTrips);
      if (trips) console.log(`\n${trips}`);
      for (const w of res.warnings) console.log(`\n${w}`);
      const tooMany = res.status === "complete" && res.failures.over;
      console.log(
        `\nrun ${res.status}${
          tooMany ? ", but too many sessions failed" : ""
        }: ${res.dir}`,
      );
      if (cfg.charts && res.summary.length > 0) await renderCharts(res.dir);
      if (res.status === "interrupted") return signalCode;
      if (res.status === "failed") {
        console.error(`error: ${res.reason}`);
        return 1;
      }
      if (tooMany) {
        const worst = res.failures.clients.filter((c) =>
          c.pct > res.failures.maxPct
        ).map((c) => `${c.client} ${c.failed} of ${c.sessions}`).join(", ");
        console.error(
          `error: more sessions failed than --max-failures ${res.failures.maxPct}% allows (${worst}); see the warning above and sessions.csv in ${res.dir}`,
        );
        return EXIT_TOO_MANY_FAILURES;
      }
      return 0;
    }, (line) => {
      // An error caused by the interruption itself is not news.
      if (!ac.signal.aborted) console.error(line);
    });
    return ac.signal.aborted ? signalCode : code;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
