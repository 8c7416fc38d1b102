/**
 * Terminal progress of a run: on a TTY a bar that advances as each
 * session of a round reports (the share of the step's time used, redrawn
 * at most every {@linkcode REDRAW_MS} ms), one line per finished step
 * otherwise.
 *
 * @module
 */
import { median } from "../util/quantile.ts";
import type { RoundProgress, SessionProgress, StepResult } from "./sweep.ts";

/**
 * Least time between two redraws of the bar, ms: a session reports every
 * few ms at large pool sizes, and each redraw costs the terminal CPU that
 * the run would count as another process's.
 */
export const REDRAW_MS = 250;

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Progress output of a run. On a TTY it redraws one status line; otherwise
 * it prints one line per finished step.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * import assert from "node:assert/strict";
 * const out: string[] = [];
 * const p = new Progress({ totalSteps: 2, stepSeconds: 1, tty: false, write: (s) => out.push(s) });
 * p.step({ client: "ssh2", pool: 1, rounds: 1, sessions: 1, ok: 1, failures: {},
 *   okTotals: [10], okRounds: [], roundWalls: [10], clientCpuMs: 1, serverCpuMs: 2, machineCpuMs: 4,
 *   machineWindowMs: 12, wallMs: 10, maxRssMb: 50 });
 * assert.deepEqual(out, ["ssh2 pool 1: 1 rounds, 1/1 ok, median total 10.0 ms\n"]);
 * assert.equal(p.eta(), 1000); // one step of 1 s left
 * // On a TTY the bar moves with each session, within a step.
 * const bar: string[] = [];
 * const t = new Progress({ totalSteps: 2, stepSeconds: 10, tty: true, write: (s) => bar.push(s), redrawMs: 0 });
 * const at = (done: number, elapsedMs: number) => t.session({ client: "ssh2", pool: 100,
 *   round: 1, done, elapsedMs, stepMs: 10_000, steps: 1 });
 * at(1, 0);
 * at(60, 5000);
 * assert.match(bar[0], /\[-{24}\] 0\/2 steps ssh2 pool 100 round 1: 1\/100 sessions/);
 * assert.match(bar[1], /\[#{6}-{18}\] 0\/2 steps ssh2 pool 100 round 1: 60\/100 sessions .*~15s left/);
 * ```
 */
export class Progress {
  #totalSteps: number;
  #stepsDone = 0;
  #stepSeconds: number;
  #tty: boolean;
  #write: (s: string) => void;
  #start = performance.now();
  #redrawMs: number;
  #lastDraw = -Infinity;
  /** Steps' worth of the step in progress done (its share of time × its clients). */
  #inStep = 0;

  /**
   * `tty` defaults to whether stderr is a terminal; `write` to stderr;
   * `redrawMs` to {@linkcode REDRAW_MS}.
   */
  constructor(o: {
    totalSteps: number;
    stepSeconds: number;
    tty?: boolean;
    write?: (s: string) => void;
    redrawMs?: number;
  }) {
    this.#totalSteps = o.totalSteps;
    this.#stepSeconds = o.stepSeconds;
    this.#tty = o.tty ?? Deno.stderr.isTerminal();
    const enc = new TextEncoder();
    this.#write = o.write ?? ((s) => Deno.stderr.writeSync(enc.encode(s)));
    this.#redrawMs = o.redrawMs ?? REDRAW_MS;
  }

  /** Estimated time left, ms. */
  eta(): number {
    return Math.max(0, this.#totalSteps - this.#stepsDone - this.#inStep) *
      this.#stepSeconds * 1000;
  }

  /**
   * Advances the bar as a session of a round reports (TTY only): the step
   * counts as far as its time is used.
   */
  session(p: SessionProgress): void {
    if (!this.#tty) return;
    this.#inStep = p.stepMs > 0
      ? Math.min(0.99, p.elapsedMs / p.stepMs) * p.steps
      : 0;
    const now = performance.now();
    if (now - this.#lastDraw < this.#redrawMs && p.done < p.pool) return;
    this.#lastDraw = now;
    this.#draw(
      `${p.client} pool ${p.pool} round ${p.round}: ${p.done}/${p.pool} sessions`,
    );
  }

  /** Redraws the bar after a round (TTY only). */
  round(p: RoundProgress): void {
    if (!this.#tty) return;
    this.#draw(
      `${p.client} pool ${p.pool} round ${p.round} ok ${p.ok} failed ${p.failed}`,
    );
  }

  #draw(what: string): void {
    const width = 24;
    const frac = Math.min(
      1,
      (this.#stepsDone + this.#inStep) / this.#totalSteps,
    );
    const full = Math.round(frac * width);
    const bar = "#".repeat(full) + "-".repeat(width - full);
    const el = performance.now() - this.#start;
    const line =
      `[${bar}] ${this.#stepsDone}/${this.#totalSteps} steps ${what} | ${
        fmtDuration(el)
      } elapsed, ~${fmtDuration(this.eta())} left`;
    this.#write(`\r\x1b[2K${line}`);
  }

  /** Records a finished step (prints its line when not on a TTY). */
  step(r: StepResult): void {
    this.#stepsDone++;
    this.#inStep = Math.max(0, this.#inStep - 1);
    const failed = r.sessions - r.ok;
    const line =
      `${r.client} pool ${r.pool}: ${r.rounds} rounds, ${r.ok}/${r.sessions} ok${
        failed ? ` (${failed} failed)` : ""
      }, median total ${median(r.okTotals).toFixed(1)} ms${
        r.stopped ? ` - stopped: ${r.stopped}` : ""
      }`;
    if (this.#tty) this.#write(`\r\x1b[2K`);
    if (!this.#tty || failed || r.stopped) this.#write(line + "\n");
  }

  /** Prints a line between steps without breaking the bar. */
  note(line: string): void {
    if (this.#tty) this.#write(`\r\x1b[2K`);
    this.#write(line + "\n");
  }

  /** Clears the bar. */
  done(): void {
    if (this.#tty) this.#write(`\r\x1b[2K`);
  }
}
