/**
 * Terminal progress of a run: a bar redrawn after every round on a TTY,
 * one line per finished step otherwise.
 *
 * @module
 */
import { median } from "../util/quantile.ts";
import type { RoundProgress, StepResult } from "./sweep.ts";

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
 * ```
 */
export class Progress {
  #totalSteps: number;
  #stepsDone = 0;
  #stepSeconds: number;
  #tty: boolean;
  #write: (s: string) => void;
  #start = performance.now();

  /** `tty` defaults to whether stderr is a terminal; `write` to stderr. */
  constructor(o: {
    totalSteps: number;
    stepSeconds: number;
    tty?: boolean;
    write?: (s: string) => void;
  }) {
    this.#totalSteps = o.totalSteps;
    this.#stepSeconds = o.stepSeconds;
    this.#tty = o.tty ?? Deno.stderr.isTerminal();
    const enc = new TextEncoder();
    this.#write = o.write ?? ((s) => Deno.stderr.writeSync(enc.encode(s)));
  }

  /** Estimated time left, ms. */
  eta(): number {
    return (this.#totalSteps - this.#stepsDone) * this.#stepSeconds * 1000;
  }

  /** Redraws the bar after a round (TTY only). */
  round(p: RoundProgress): void {
    if (!this.#tty) return;
    const width = 24;
    const frac = Math.min(1, this.#stepsDone / this.#totalSteps);
    const full = Math.round(frac * width);
    const bar = "#".repeat(full) + "-".repeat(width - full);
    const el = performance.now() - this.#start;
    const line =
      `[${bar}] ${this.#stepsDone}/${this.#totalSteps} ${p.client} pool ${p.pool} round ${p.round} ok ${p.ok} failed ${p.failed} | ${
        fmtDuration(el)
      } elapsed, ~${fmtDuration(this.eta())} left`;
    this.#write(`\r\x1b[2K${line}`);
  }

  /** Records a finished step (prints its line when not on a TTY). */
  step(r: StepResult): void {
    this.#stepsDone++;
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
