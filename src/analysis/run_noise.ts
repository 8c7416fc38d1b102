/**
 * How much runs of one command differ from each other: a random-effects
 * model of a cell's median (client × pool size × metric), measured from
 * three or more independent runs of the same command.
 *
 * One run's interval describes the rounds of that run only; the machine's
 * state from one run to the next (other processes, CPU frequency, caches,
 * where the kernel puts things) moves the whole run. So on the natural-log
 * scale run r's median is `ln m_r = mu + u_r + e_r`, with `e_r` the
 * within-run error (standard error `se_r`, read off the run's 95 %
 * cluster-bootstrap interval as `(ln high − ln low) / (2·1.96)`, see
 * {@linkcode intervalLogSe}) and `u_r` the run's own offset, of variance
 * tau². The moment estimator (the unweighted form of DerSimonian-Laird):
 * the sample variance of the `ln m_r` over the runs, less the mean of the
 * `se_r²`, is tau²; per cell clipped at 0; per metric the cells' unclipped
 * estimates averaged with their degrees of freedom (runs − 1) as weights,
 * then clipped at 0. A tau reads as a percentage: `100·(exp(tau) − 1)`.
 *
 * `deno task compare` uses tau to widen intervals and test changes (see
 * {@linkcode compareValues}).
 *
 * @module
 */
import { sameCommand } from "../util/paths.ts";
import { loadRuns } from "./load.ts";
import type { RunMeta } from "../run/record.ts";
import { readRecord } from "../run/record.ts";
import {
  type BetweenRun,
  COMPARE_METRICS,
  type CompareMetric,
  intervalLogSe,
  METRIC_LABELS,
  type RunValues,
  runValues,
} from "./run_comparison.ts";
import { clusterInterval } from "../util/inference.ts";
import { median } from "../util/quantile.ts";
import { UsageError } from "../util/errors.ts";
import { type TextColumn, textTable } from "../util/text_table.ts";

/** Rounds a run needs in a cell to count in the model. */
export const MIN_ROUNDS = 4;

/** Format tag of `noise.json`. */
export const NOISE_MODEL_KIND = "ssh-bench run-to-run noise model";

/** Fewest runs a model is made from (two give one difference, no spread). */
export const MIN_NOISE_RUNS = 3;

/** The between-run figures of one cell (client × pool size × metric). */
export interface NoiseCell {
  /** Client. */
  client: string;
  /** Pool size. */
  pool_size: number;
  /** Runs with a median for the cell. */
  runs: number;
  /** Between-run variation, %: `100·(exp(tau) − 1)`. */
  between_run_pct: number;
  /** Between-run standard deviation on the log scale (clipped at 0). */
  tau: number;
  /** The unclipped moment estimate of tau² (negative: no between-run variance seen). */
  tau2_raw: number;
  /** Standard deviation of the runs' log medians. */
  sd_log_median: number;
  /** Root mean square of the runs' within-run standard errors (log scale). */
  rms_se_log: number;
  /** Median of the runs' medians (the metric's unit). */
  median: number;
}

/** One metric's figures: pooled over its cells, and per cell. */
export interface NoiseMetric {
  /** Pooled between-run variation, %. */
  between_run_pct: number;
  /** Pooled tau (log scale), clipped at 0. */
  tau: number;
  /** Pooled unclipped tau² (degrees-of-freedom weighted). */
  tau2_raw: number;
  /** Degrees of freedom pooled: the sum of (runs − 1) over the cells. */
  df: number;
  /** Every cell with at least two runs. */
  cells: NoiseCell[];
}

/** `noise.json`: the model and where it comes from. */
export interface NoiseModel {
  /** {@linkcode NOISE_MODEL_KIND}. */
  kind: string;
  /** Format version (1). */
  version: 1;
  /** When the model was made, ISO 8601 UTC. */
  made_at: string;
  /** The method, in words. */
  method: string;
  /** The runs it was measured from. */
  runs: {
    dir: string;
    run_id: string | null;
    started_at: string | null;
    ended_at: string | null;
    project_commit: string | null;
    argv: string[] | null;
  }[];
  /** The bench command of the runs (the first run's arguments, less --out and --name). */
  command: string;
  /** The first run's parameters (meta.json). */
  parameters: Record<string, unknown>;
  /** The machine (first run's meta.json). */
  machine: Record<string, unknown>;
  /** Versions (first run's meta.json). */
  versions: Record<string, unknown>;
  /** Per metric. */
  metrics: Partial<Record<CompareMetric, NoiseMetric>>;
}

/** Between-run variation as a percentage of the median. */
export function tauPct(tau: number): number {
  return 100 * (Math.exp(tau) - 1);
}

/**
 * The moment estimate of tau² (unclipped) from the runs' log medians and
 * their within-run standard errors: sample variance (n − 1) of the logs
 * less the mean squared standard error. NaN with fewer than two runs.
 *
 * @example
 * ```ts
 * import { momentTau2 } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * // logs 0, +0.04, −0.04 around ln 100: variance (0 + 0.0016 + 0.0016) / 2
 * // = 0.0016; mean se² (0.0001 + 0.0004 + 0.0004) / 3 = 0.0003; tau² 0.0013.
 * const logs = [0, 0.04, -0.04].map((d) => Math.log(100) + d);
 * assert.ok(Math.abs(momentTau2(logs, [0.01, 0.02, 0.02]) - 0.0013) < 1e-12);
 * assert.ok(momentTau2([1, 1, 1], [0.01, 0.01, 0.01]) < 0); // spread below se: none
 * assert.ok(Number.isNaN(momentTau2([1], [0.01])));
 * ```
 */
export function momentTau2(
  logMedians: readonly number[],
  logSes: readonly number[],
): number {
  const n = logMedians.length;
  if (n < 2) return NaN;
  const mean = logMedians.reduce((s, y) => s + y, 0) / n;
  const variance = logMedians.reduce((s, y) => s + (y - mean) ** 2, 0) /
    (n - 1);
  const se2 = logSes.reduce((s, e) => s + e * e, 0) / logSes.length;
  return variance - se2;
}

/** One cell's per-run medians and within-run standard errors (log scale). */
export interface NoiseObservations {
  /** Client. */
  client: string;
  /** Pool size. */
  pool_size: number;
  /** Metric. */
  metric: CompareMetric;
  /** Each run's median (> 0). */
  medians: number[];
  /** Each run's standard error of ln(median). */
  log_ses: number[];
}

/**
 * Fits the model's figures from per-cell observations: each cell with two
 * or more runs gets its tau (clipped at 0), each metric the
 * degrees-of-freedom weighted mean of its cells' unclipped tau², clipped.
 *
 * @example
 * ```ts
 * import { fitNoiseCells } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const at = (d: number[]) => d.map((x) => 100 * Math.exp(x));
 * const m = fitNoiseCells([
 *   // tau² = 0.0016 − 0.0003 = 0.0013 (see momentTau2): tau 0.036056, 3.67 %
 *   { client: "a", pool_size: 1, metric: "total_ms", medians: at([0, 0.04, -0.04]), log_ses: [0.01, 0.02, 0.02] },
 *   // variance (0.005² · 2) / 2 = 0.000025, less 0.0004: −0.000375, tau 0
 *   { client: "a", pool_size: 8, metric: "total_ms", medians: at([0, 0.005, -0.005]), log_ses: [0.02, 0.02, 0.02] },
 * ]);
 * const t = m.total_ms!;
 * assert.equal(t.cells[0].tau.toFixed(6), "0.036056");
 * assert.equal(t.cells[0].between_run_pct.toFixed(2), "3.67");
 * assert.equal(t.cells[1].tau, 0);
 * // pooled: (2 · 0.0013 + 2 · −0.000375) / 4 = 0.0004625, tau 0.021506, 2.17 %
 * assert.equal(t.df, 4);
 * assert.equal(t.tau.toFixed(6), "0.021506");
 * assert.equal(t.between_run_pct.toFixed(2), "2.17");
 * ```
 */
export function fitNoiseCells(
  observations: readonly NoiseObservations[],
): Partial<Record<CompareMetric, NoiseMetric>> {
  const out: Partial<Record<CompareMetric, NoiseMetric>> = {};
  for (const metric of COMPARE_METRICS) {
    const cells: NoiseCell[] = [];
    let weighted = 0;
    let df = 0;
    for (const o of observations.filter((x) => x.metric === metric)) {
      if (o.medians.length < 2) continue;
      const logs = o.medians.map(Math.log);
      const raw = momentTau2(logs, o.log_ses);
      const tau = Math.sqrt(Math.max(0, raw));
      cells.push({
        client: o.client,
        pool_size: o.pool_size,
        runs: o.medians.length,
        between_run_pct: tauPct(tau),
        tau,
        tau2_raw: raw,
        sd_log_median: Math.sqrt(raw + meanSquare(o.log_ses)),
        rms_se_log: Math.sqrt(meanSquare(o.log_ses)),
        median: median(o.medians),
      });
      weighted += (o.medians.length - 1) * raw;
      df += o.medians.length - 1;
    }
    if (df === 0) continue;
    const raw = weighted / df;
    const tau = Math.sqrt(Math.max(0, raw));
    out[metric] = {
      between_run_pct: tauPct(tau),
      tau,
      tau2_raw: raw,
      df,
      cells,
    };
  }
  return out;
}

function meanSquare(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x * x, 0) / xs.length;
}

/**
 * The observations of several runs: per cell and metric, each run's
 * median and the standard error of its log (from its cluster-bootstrap
 * interval; runs with fewer than {@linkcode MIN_ROUNDS} rounds there, or
 * whose interval reaches 0, are left out of that cell).
 *
 * @example
 * ```ts
 * import { noiseObservations } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const run = (rounds: number[][]) => new Map([["c|1", new Map([["total_ms", rounds]])]]) as never;
 * const four = [[10], [11], [12], [11]];
 * const obs = noiseObservations([run(four), run(four), run([[10]])]);
 * assert.deepEqual(obs.map((o) => [o.metric, o.medians.length]), [["total_ms", 2]]);
 * ```
 */
export function noiseObservations(
  runs: readonly RunValues[],
): NoiseObservations[] {
  const byCell = new Map<string, NoiseObservations>();
  for (const run of runs) {
    for (const [key, rounds] of run) {
      const [client, pool] = key.split("|");
      for (const metric of COMPARE_METRICS) {
        const r = (rounds.get(metric) ?? []).filter((x) => x.length);
        // Too few rounds give no standard error worth the name (one round:
        // zero), which would inflate tau²; the same floor as compare's.
        if (r.length < MIN_ROUNDS) continue;
        const ci = clusterInterval(r);
        const se = intervalLogSe(ci);
        if (!(ci.median > 0) || !Number.isFinite(se)) continue;
        const id = `${key}|${metric}`;
        const o = byCell.get(id) ?? {
          client,
          pool_size: Number(pool),
          metric,
          medians: [],
          log_ses: [],
        };
        o.medians.push(ci.median);
        o.log_ses.push(se);
        byCell.set(id, o);
      }
    }
  }
  return [...byCell.values()].sort((x, y) =>
    x.client === y.client
      ? x.pool_size - y.pool_size
      : x.client < y.client
      ? -1
      : 1
  );
}

/** A run's command with per-run temp paths (the payload's folder) made equal. */
function sameRunCommand(command: unknown): unknown {
  return typeof command === "string" ? sameCommand(command) : command;
}

/**
 * What must be equal between runs for their differences to be noise, as
 * `name → value` (JSON text): every parameter (the remote command with its
 * per-run temp folder made equal; the clients as a set when the order is
 * interleaved, since turns rotate round by round, as a list when
 * sequential, where the order decides which client runs first), the
 * preset, the target (its port too unless embedded, which picks a free
 * one each run), the machine and the software versions (less the
 * project's commit).
 *
 * @example
 * ```ts
 * import { comparableFacts } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const meta = (clients: string[], order: string) => ({ parameters: { clients, order,
 *   command: "cat /tmp/ssh-bench-sshd-3452ae27fd7f08ca/payload.txt" } }) as never;
 * const a = comparableFacts(meta(["ssh2", "libssh2"], "interleaved"));
 * assert.deepEqual(comparableFacts(meta(["libssh2", "ssh2"], "interleaved")), a);
 * assert.notDeepEqual(comparableFacts(meta(["libssh2", "ssh2"], "sequential")),
 *   comparableFacts(meta(["ssh2", "libssh2"], "sequential")));
 * assert.equal(a.get("parameters.command"), '"cat /tmp/ssh-bench-…/payload.txt"');
 * ```
 */
export function comparableFacts(meta: RunMeta): Map<string, string> {
  const facts = new Map<string, string>();
  const put = (name: string, v: unknown) =>
    facts.set(name, JSON.stringify(v ?? null));
  const p = (meta.parameters ?? {}) as Record<string, unknown>;
  const interleaved = p.order === "interleaved";
  for (const [k, v] of Object.entries(p)) {
    if (k === "command") put(`parameters.${k}`, sameRunCommand(v));
    else if (k === "clients" && interleaved && Array.isArray(v)) {
      put(`parameters.${k}`, [...v].sort());
    } else put(`parameters.${k}`, v);
  }
  put("preset", meta.preset);
  const t = (meta.target ?? {}) as Record<string, unknown>;
  put("target.kind", t.kind);
  put("target.host", t.host);
  put("target.user", t.user);
  if (t.kind !== "embedded") put("target.port", t.port);
  for (const [k, v] of Object.entries(meta.machine ?? {})) {
    put(`machine.${k}`, v);
  }
  const versions = (meta.versions ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(versions)) {
    if (k === "project_commit") continue;
    if (k === "clients" && v && typeof v === "object") {
      for (const [c, cv] of Object.entries(v)) put(`versions.clients.${c}`, cv);
    } else put(`versions.${k}`, v);
  }
  return facts;
}

function short(s: string | undefined): string {
  const v = s ?? "nothing";
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}

/**
 * Checks that runs repeat one command on one machine (see
 * {@linkcode comparableFacts}), and that each is a complete, distinct run.
 *
 * @throws {UsageError} naming the first difference and the fix.
 * @example
 * ```ts
 * import { checkRepeats } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const meta = (payload: number) => ({ status: "complete", parameters: { payload_bytes: payload } }) as never;
 * checkRepeats([["r1", meta(26000)], ["r2", meta(26000)], ["r3", meta(26000)]]);
 * assert.throws(() => checkRepeats([["r1", meta(26000)], ["r2", meta(26000)], ["r3", meta(2600000)]]),
 *   /^UsageError: parameters.payload_bytes differs: r1 has 26000, r3 has 2600000; /);
 * ```
 */
export function checkRepeats(
  runs: readonly (readonly [string, RunMeta | undefined])[],
  what = "the noise model",
): void {
  const seen = new Set<string>();
  for (const [dir, meta] of runs) {
    if (seen.has(dir)) {
      throw new UsageError(
        `${dir} is given twice: ${what} needs independent runs, each once`,
      );
    }
    seen.add(dir);
    if (meta === undefined) {
      throw new UsageError(
        `${dir} has no readable meta.json, so its parameters are unknown: use runs that deno task bench completed`,
      );
    }
    if (meta.status !== "complete") {
      throw new UsageError(
        `${dir} is ${
          meta.status ?? "of unknown status"
        }, not complete: use runs that deno task bench completed`,
      );
    }
  }
  const [first, firstMeta] = runs[0];
  const base = comparableFacts(firstMeta!);
  for (const [dir, meta] of runs.slice(1)) {
    const facts = comparableFacts(meta!);
    const names = [...new Set([...base.keys(), ...facts.keys()])];
    for (const name of names) {
      if (base.get(name) !== facts.get(name)) {
        throw new UsageError(
          `${name} differs: ${first} has ${short(base.get(name))}, ${dir} has ${
            short(facts.get(name))
          }; ${what} needs runs of one command on one machine: repeat ${first} with deno task bench --like ${first} --out DIR`,
        );
      }
    }
  }
}

/** The bench command line of a run's arguments, less --out and --name. */
function benchCommand(argv: readonly string[] | undefined): string {
  if (!argv) return "deno task bench (arguments not recorded)";
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out" || argv[i] === "--name") i++;
    else if (/^--(out|name)=/.test(argv[i])) continue;
    else kept.push(/\s/.test(argv[i]) ? JSON.stringify(argv[i]) : argv[i]);
  }
  return ["deno task bench", ...kept].join(" ");
}

/**
 * Measures the model from run folders (three or more runs of one command,
 * see {@linkcode checkRepeats}).
 *
 * @throws {UsageError} for too few runs or runs that differ.
 */
export function makeNoiseModel(
  dirs: readonly string[],
  madeAt: Date = new Date(),
): NoiseModel {
  if (dirs.length < MIN_NOISE_RUNS) {
    throw new UsageError(
      `give ${MIN_NOISE_RUNS} or more run folders of the same command (got ${dirs.length}), e.g. deno task noise data/runs/A data/runs/B data/runs/C`,
    );
  }
  checkRepeats(dirs.map((d) => [d, readRecord(d)]));
  const runs = dirs.map((d) => loadRuns([d]));
  const first = runs[0].metas[0];
  return {
    kind: NOISE_MODEL_KIND,
    version: 1,
    made_at: madeAt.toISOString(),
    method:
      "random effects on the log scale: ln(median of run r) = mu + u_r + e_r; e_r's SD is the run's within-run standard error, (ln high − ln low) / (2·1.96) of its 95 % cluster-bootstrap interval of the median (1000 resamples of whole rounds); tau² = var(u_r) by the method of moments (sample variance of the runs' ln medians less their mean squared standard error; unweighted DerSimonian-Laird), clipped at 0 per cell; pooled per metric as the (runs − 1)-weighted mean of the unclipped cell estimates, clipped at 0; between_run_pct = 100·(exp(tau) − 1)",
    runs: runs.map((r, i) => ({
      dir: dirs[i],
      run_id: r.metas[0].run_id ?? null,
      started_at: r.metas[0].started_at ?? null,
      ended_at: r.metas[0].ended_at ?? null,
      project_commit: r.metas[0].versions?.project_commit ?? null,
      argv: r.metas[0].argv ?? null,
    })),
    command: benchCommand(first.argv),
    parameters: { ...(first.parameters ?? {}) },
    machine: { ...(first.machine ?? {}) },
    versions: { ...(first.versions ?? {}) },
    metrics: fitNoiseCells(
      noiseObservations(runs.map((r) => runValues(r.sessions, r.rounds))),
    ),
  };
}

/**
 * Reads a model written by `deno task noise`.
 *
 * @throws {UsageError} one line when the file is missing or is not a model.
 * @example
 * ```ts
 * import { readNoiseModel } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * assert.throws(() => readNoiseModel(`${dir}/none.json`), /none.json not found: make one with deno task noise/);
 * await Deno.writeTextFile(`${dir}/bad.json`, "{ not json");
 * assert.throws(() => readNoiseModel(`${dir}/bad.json`), /bad.json is not a noise model \(not JSON\)/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readNoiseModel(path: string): NoiseModel {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(
      `${path} ${
        e instanceof Deno.errors.NotFound
          ? "not found"
          : `cannot be read (${(e as Error).message})`
      }: make one with deno task noise RUN1 RUN2 RUN3 (three or more runs of one command), or give --noise-model none`,
    );
  }
  const fix =
    "make it again with deno task noise RUN1 RUN2 RUN3, or give --noise-model none";
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not a noise model (not JSON): ${fix}`);
  }
  const problem = modelProblem(json);
  if (problem) {
    throw new UsageError(`${path} is not a noise model (${problem}): ${fix}`);
  }
  return json as NoiseModel;
}

/** What is wrong with a parsed `noise.json`, or undefined. */
function modelProblem(json: unknown): string | undefined {
  if (!json || typeof json !== "object") return "not an object";
  const m = json as Record<string, unknown>;
  if (m.kind !== NOISE_MODEL_KIND) return `kind is not "${NOISE_MODEL_KIND}"`;
  if (m.version !== 1) return `version ${m.version}, this tool reads 1`;
  if (!Array.isArray(m.runs)) return "no runs";
  if (!m.metrics || typeof m.metrics !== "object") return "no metrics";
  for (const [name, v] of Object.entries(m.metrics)) {
    if (!(COMPARE_METRICS as readonly string[]).includes(name)) {
      return `unknown metric ${name}`;
    }
    const x = v as Partial<NoiseMetric>;
    if (!(typeof x.tau === "number" && x.tau >= 0) || !Array.isArray(x.cells)) {
      return `metric ${name} has no tau >= 0 or no cells`;
    }
    for (const c of x.cells) {
      if (
        typeof c?.client !== "string" || typeof c.pool_size !== "number" ||
        typeof c.runs !== "number" || !(typeof c.tau === "number" && c.tau >= 0)
      ) return `a cell of ${name} lacks client, pool_size, runs or tau`;
    }
  }
  return undefined;
}

/**
 * The model's tau for each row of a comparison: the larger of the
 * metric's pooled tau and the cell's own (when the model has that client,
 * pool size and metric from three or more runs). A cell's own estimate
 * rests on few runs and can come out 0 by chance; the pooled one is the
 * floor, and a cell known to be noisier gets its own. Undefined for a
 * metric the model lacks.
 *
 * @example
 * ```ts
 * import { betweenRun } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const cell = { client: "ssh2", pool_size: 1, runs: 5, tau: 0.03 };
 * const tau = betweenRun({ metrics: { total_ms: { tau: 0.02, cells: [cell] } } } as never);
 * assert.equal(tau("ssh2", 1, "total_ms"), 0.03);
 * assert.equal(tau("ssh2", 8, "total_ms"), 0.02);
 * const quiet = betweenRun({ metrics: { total_ms: { tau: 0.02, cells: [{ ...cell, tau: 0 }] } } } as never);
 * assert.equal(quiet("ssh2", 1, "total_ms"), 0.02); // never below the pooled tau
 * assert.equal(tau("ssh2", 1, "channel_read_ms"), undefined);
 * ```
 */
export function betweenRun(model: NoiseModel): BetweenRun {
  return (client, poolSize, metric) => {
    const m = model.metrics[metric];
    if (!m) return undefined;
    const c = m.cells.find((x) =>
      x.client === client && x.pool_size === poolSize &&
      x.runs >= MIN_NOISE_RUNS
    );
    return c ? Math.max(c.tau, m.tau) : m.tau;
  };
}

/**
 * One line naming a model: where it is, its runs (by folder name), when
 * it was made and its pooled between-run variation of the median total.
 *
 * @example
 * ```ts
 * import { noiseProvenance } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const line = noiseProvenance({ made_at: "2026-11-26T06:00:00.000Z", command: "deno task bench --pool 1",
 *   runs: [{ dir: "data/runs/a", run_id: "x" }, { dir: "b/" }, { dir: "", run_id: "c" }],
 *   metrics: { total_ms: { between_run_pct: 1.84 } } } as never, "data/noise.json");
 * assert.equal(line, "noise model: data/noise.json, made 2026-11-26 from 3 runs (a, b, c) of deno task bench --pool 1; between-run variation of the median total 1.8 % (pooled)");
 * ```
 */
export function noiseProvenance(model: NoiseModel, path: string): string {
  const total = model.metrics.total_ms;
  return `noise model: ${path}, made ${
    model.made_at.slice(0, 10)
  } from ${model.runs.length} runs (${
    model.runs.map((r) =>
      r.dir?.replace(/\/+$/, "").split("/").pop() || r.run_id
    ).join(", ")
  }) of ${model.command}; ${
    total
      ? `between-run variation of the median total ${
        total.between_run_pct.toFixed(1)
      } % (pooled)`
      : "no figure for the total"
  }`;
}

/**
 * The model as a readable table: per metric the pooled between-run
 * variation, then each cell's, with its runs, the spread of the runs'
 * medians and the typical within-run standard error (all in %).
 *
 * @example
 * ```ts
 * import { fitNoiseCells, formatNoiseModel } from "./run_noise.ts";
 * import assert from "node:assert/strict";
 * const metrics = fitNoiseCells([{ client: "a", pool_size: 1, metric: "total_ms",
 *   medians: [100, 104, 96], log_ses: [0.01, 0.01, 0.01] }]);
 * const text = formatNoiseModel({ metrics } as never);
 * // ln medians' SD 0.0400 (4.1 %), se 0.01: tau² = 0.0400² − 0.01², tau 3.95 %
 * assert.match(text, /^total ms +all +3 +4\.0 %$/m);
 * assert.match(text, /^ +a +1 +3 +4\.0 % +4\.1 % +1\.0 %$/m);
 * ```
 */
export function formatNoiseModel(model: NoiseModel): string {
  const pct = (tau: number) => `${tauPct(tau).toFixed(1)} %`;
  const columns: TextColumn[] = [
    { head: "metric" },
    { head: "client" },
    ...[
      "pool",
      "runs",
      "between-run",
      "spread of medians",
      "within-run se",
    ].map((head) => ({ head, align: "right" as const })),
  ];
  const rows: string[][] = [];
  for (const metric of COMPARE_METRICS) {
    const m = model.metrics[metric];
    if (!m) continue;
    rows.push([
      METRIC_LABELS[metric],
      "all",
      "",
      String(Math.max(0, ...m.cells.map((c) => c.runs))),
      pct(m.tau),
      "",
      "",
    ]);
    for (const c of m.cells) {
      rows.push([
        "",
        c.client,
        String(c.pool_size),
        String(c.runs),
        pct(c.tau),
        pct(c.sd_log_median),
        pct(c.rms_se_log),
      ]);
    }
  }
  return textTable(columns, rows);
}
