/**
 * `deno task bench:analysis [SESSIONS]`: generates a synthetic run of
 * 1,000,000 sessions (three clients, pools 1..100, 0.5 % failed sessions
 * with the phases they did not reach left empty), then times loading it
 * with polars, the interval medians, the per-pool statistics and the
 * rendering of the charts it has something to show in (of the eight in
 * `CHART_NAMES`; the count drawn is printed). Target: under 10 s on a 2-core machine.
 *
 * @module
 */
import { loadRuns } from "../analysis/load.ts";
import {
  failureRates,
  hostMedians,
  intervalMedians,
  poolIntervals,
  poolStats,
  roundStats,
  rttMedians,
  totalDistribution,
  withComposites,
} from "../analysis/stats.ts";
import {
  CHART_NAMES,
  chartSpecs,
  DISTRIBUTION_POOLS,
} from "../analysis/analyse.ts";
import { writeChart } from "../analysis/chart_render.ts";
import { syntheticRun } from "./synthetic.ts";

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 1_000_000);
  const g0 = performance.now();
  const dir = await syntheticRun(n);
  console.log(
    `generated ${n} sessions in ${
      ((performance.now() - g0) / 1000).toFixed(1)
    } s (not timed): ${dir}`,
  );
  try {
    const times: [string, number][] = [];
    const t0 = performance.now();
    let t = t0;
    const lap = (name: string) => {
      const now = performance.now();
      times.push([name, now - t]);
      t = now;
    };
    const run = loadRuns([dir]);
    lap("load (polars readCSV, typed)");
    const sessions = withComposites(run.sessions);
    const intervals = intervalMedians(sessions);
    lap("interval medians (5 s)");
    const pools = poolStats(sessions);
    const failures = failureRates(sessions);
    const rounds = roundStats(sessions, run.rounds);
    lap("per-pool stats, failures, rounds");
    const withCi = pools.join(poolIntervals(sessions), {
      on: ["series", "client", "pool_size"],
      how: "left",
    });
    lap("95 % intervals (round bootstrap)");
    const distribution = totalDistribution(sessions, DISTRIBUTION_POOLS);
    lap("distribution (ECDF)");
    const specs = chartSpecs(
      {
        sessions,
        intervals,
        pools: withCi,
        failures,
        rounds,
        distribution,
        rtt: rttMedians(sessions),
        hosts: hostMedians(sessions),
      },
      run.metas[0],
    );
    const drawn = CHART_NAMES.filter((n) => specs[n]);
    for (const name of drawn) {
      await writeChart(specs[name]!, `${dir}/charts`, name);
    }
    lap(`${drawn.length} charts (SVG + PNG + spec)`);
    const total = performance.now() - t0;
    for (const [name, ms] of times) {
      console.log(`${name.padEnd(36)} ${(ms / 1000).toFixed(2)} s`);
    }
    console.log(
      `${"total".padEnd(36)} ${
        (total / 1000).toFixed(2)
      } s for ${run.sessions.height} sessions (target < 10 s): ${
        total < 10_000 ? "PASS" : "FAIL"
      }`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
