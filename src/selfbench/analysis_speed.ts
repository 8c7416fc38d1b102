/**
 * `deno task bench:analysis [SESSIONS]`: generates a synthetic run of
 * 1,000,000 sessions (three clients, pools 1..100, 0.5 % failed sessions
 * with the phases they did not reach left empty), then times loading it
 * with polars, the interval medians, the per-pool statistics and the
 * rendering of the five charts. Target: under 10 s on a 2-core machine.
 *
 * @module
 */
import { CsvSink } from "../run/csv_sink.ts";
import { loadRuns } from "../analysis/load.ts";
import {
  failureRates,
  intervalMedians,
  poolStats,
  roundStats,
  withComposites,
} from "../analysis/stats.ts";
import { CHART_NAMES, chartSpecs } from "../analysis/analyse.ts";
import { writeChart } from "../analysis/chart_render.ts";
import type { RoundRow, SessionRow, Status } from "../clients/seam.ts";

/**
 * Writes a synthetic run folder with `n` sessions; returns its path.
 *
 * @example
 * ```ts ignore
 * import { syntheticRun } from "./analysis_speed.ts";
 * const dir = await syntheticRun(10_000);
 * ```
 */
export async function syntheticRun(n: number, dir?: string): Promise<string> {
  const out = dir ?? await Deno.makeTempDir({ prefix: "ssh-bench-synthetic-" });
  const sink = CsvSink.create(out);
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const clients = ["ssh2", "libssh2", "openssh"];
  let t = 0;
  for (const [i, client] of clients.entries()) {
    // The first clients take the rounding remainder; the sizes sum to n.
    const perClient = Math.floor(n / clients.length) +
      (i < n % clients.length ? 1 : 0);
    let done = 0;
    for (let pool = 1; done < perClient; pool = pool % 100 + 1) {
      for (let round = 1; round <= 5 && done < perClient; round++) {
        const sessions: SessionRow[] = [];
        const size = Math.min(pool, perClient - done);
        let ok = 0;
        for (let s = 1; s <= size; s++) {
          const failed = rnd() < 0.005;
          const status: Status = failed ? "connect_error" : "ok";
          const base = 10 + pool * 2;
          const ph = [0.3, base, 3, 2, 1].map((m) => m * (0.7 + rnd() * 0.6));
          const total = failed ? ph[0] : ph.reduce((a, b) => a + b, 0);
          if (!failed) ok++;
          sessions.push({
            run_id: "synthetic",
            client,
            pool_size: pool,
            round,
            session: s,
            started_at_ms: t + rnd() * 2,
            connect_ms: ph[0],
            auth_ms: failed ? undefined : ph[1],
            exec_ms: failed ? undefined : ph[2],
            read_ms: failed ? undefined : ph[3],
            close_ms: failed ? undefined : ph[4],
            total_ms: total,
            bytes: failed ? 0 : 26000,
            lines: failed ? 0 : 515,
            exit_code: failed ? undefined : 0,
            status,
            error: failed ? "connect: Connection refused" : "",
          });
        }
        const wall = 10 + pool * 2.5;
        const r: RoundRow = {
          run_id: "synthetic",
          client,
          pool_size: pool,
          round,
          started_at_ms: t,
          wall_ms: wall,
          ok,
          failed: size - ok,
          client_cpu_ms: size * 2,
          server_cpu_ms: size * 12,
          client_rss_mb: 100,
        };
        sink.write(sessions, r);
        t += wall + 1;
        done += size;
      }
    }
  }
  sink.close();
  await Deno.writeTextFile(
    `${out}/meta.json`,
    JSON.stringify({
      run_id: "synthetic",
      started_at: new Date().toISOString(),
      machine: { cores: navigator.hardwareConcurrency, cpu_model: "synthetic" },
      versions: { deno: Deno.version.deno },
    }),
  );
  return out;
}

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
    const specs = chartSpecs(
      { sessions, intervals, pools, failures, rounds },
      run.metas[0],
    );
    for (const name of CHART_NAMES) {
      await writeChart(specs[name], `${dir}/charts`, name);
    }
    lap("5 charts (SVG + PNG + spec)");
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
