/**
 * The one rule by which every table calls a difference (the summary's
 * "vs best", `deno task compare`'s change, the choice of the best client
 * between stages): a difference is called when the 95 % interval of the
 * ratio (or of the change in %), as printed, leaves out "no change"
 * (1.00x, 0.0 %). `~` marks the rest: an interval that includes no
 * change, or none at all because a side has fewer than
 * {@linkcode MIN_VERDICT_ROUNDS} rounds. A p-value printed beside it is
 * information only: a rank test of per-round medians and a bootstrap
 * interval of the medians of all sessions answer different questions, and
 * where a total is bimodal (the delayed-ACK stall) they can disagree, so
 * only one of them may decide.
 *
 * The decision uses the bounds as printed (rounded), so `~` appears
 * exactly where the reader sees an interval that includes no change.
 *
 * @module
 */

/**
 * Rounds each side needs before an interval is shown and can call a
 * difference: 4 is the fewest with which a rank test of per-round values
 * can reach p < 0.05 at all (4 against 4: 2/70 = 0.029), and with fewer a
 * bootstrap over rounds has so few distinct resamples that its interval
 * is too narrow.
 */
export const MIN_VERDICT_ROUNDS = 4;

/** A difference as printed, and whether it is called. */
export interface Verdict {
  /** The cell: value, interval (when shown), and ` ~` when not called. */
  text: string;
  /** True when the printed interval leaves out no change. */
  changed: boolean;
  /** False when no interval is shown (too few rounds, or none known). */
  shown: boolean;
}

/**
 * Whether an interval, rounded to `digits` decimals as printed, includes
 * `none` (1 for a ratio, 0 for a change in %); false when a bound is not
 * a number.
 *
 * @example
 * ```ts
 * import { printedIncludes } from "./change_rule.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printedIncludes(0.9, 1.94, 1, 2), true);
 * assert.equal(printedIncludes(1.004, 1.2, 1, 2), true); // printed [1.00, 1.20]
 * assert.equal(printedIncludes(1.006, 1.2, 1, 2), false); // printed [1.01, 1.20]
 * assert.equal(printedIncludes(-0.04, 3, 0, 1), true); // printed [-0.0, +3.0]
 * assert.equal(printedIncludes(NaN, 3, 0, 1), false);
 * ```
 */
export function printedIncludes(
  low: number,
  high: number,
  none: number,
  digits: number,
): boolean {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return false;
  const lo = Number(low.toFixed(digits));
  const hi = Number(high.toFixed(digits));
  return lo <= none && none <= hi;
}

/**
 * A ratio with its 95 % interval as the summary prints it, called by
 * {@linkcode printedIncludes}: `1.17x [1.08, 1.25]` when the interval
 * leaves out 1.00x, `1.85x [0.90, 1.94] ~` when it includes it, and
 * `2.03x ~` without an interval (NaN bounds: too few rounds).
 *
 * @example
 * ```ts
 * import { ratioVerdict } from "./change_rule.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ratioVerdict(1.17, 1.08, 1.25), { text: "1.17x [1.08, 1.25]", changed: true, shown: true });
 * // The reported case: p = 0.029, but the interval includes 1.
 * assert.equal(ratioVerdict(1.85, 0.9, 1.94).text, "1.85x [0.90, 1.94] ~");
 * assert.deepEqual(ratioVerdict(2.03, NaN, NaN), { text: "2.03x ~", changed: false, shown: false });
 * ```
 */
export function ratioVerdict(
  ratio: number,
  low: number,
  high: number,
  digits = 2,
): Verdict {
  const shown = Number.isFinite(low) && Number.isFinite(high);
  const changed = shown && !printedIncludes(low, high, 1, digits);
  const interval = shown
    ? ` [${low.toFixed(digits)}, ${high.toFixed(digits)}]`
    : "";
  return {
    text: `${ratio.toFixed(digits)}x${interval}${changed ? "" : " ~"}`,
    changed,
    shown,
  };
}

/**
 * A change in % with a sign, as printed: `+4.2`, `-0.3`; a negative value
 * that rounds to zero keeps its sign (`-0.0`), as the interval that
 * {@linkcode printedIncludes} reads it.
 *
 * @example
 * ```ts
 * import { signedPct } from "./change_rule.ts";
 * import assert from "node:assert/strict";
 * assert.equal(signedPct(4.24), "+4.2");
 * assert.equal(signedPct(-0.3), "-0.3");
 * assert.equal(signedPct(0), "+0.0");
 * assert.equal(signedPct(-0.04), "-0.0");
 * assert.equal(signedPct(12.346, 2), "+12.35");
 * ```
 */
export function signedPct(v: number, digits = 1): string {
  const t = v.toFixed(digits);
  return v >= 0 && !t.startsWith("-") ? `+${t}` : t;
}

/**
 * The 95 % interval of a change in % as `deno task compare` prints it
 * (`[+1.0, +7.5]`), and whether it is called: the printed interval leaves
 * out 0.0 % and the change is at least `noisePct` % (`--noise`); `-`
 * without an interval.
 *
 * @example
 * ```ts
 * import { changeVerdict } from "./change_rule.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(changeVerdict(4.2, 1, 7.5), { text: "[+1.0, +7.5]", changed: true, shown: true });
 * assert.equal(changeVerdict(1, -2, 4.1).changed, false);
 * assert.equal(changeVerdict(4.2, 1, 7.5, 5).changed, false); // under --noise 5
 * assert.deepEqual(changeVerdict(9, NaN, NaN), { text: "-", changed: false, shown: false });
 * ```
 */
export function changeVerdict(
  deltaPct: number,
  lowPct: number,
  highPct: number,
  noisePct = 0,
  digits = 1,
): Verdict {
  const shown = Number.isFinite(lowPct) && Number.isFinite(highPct);
  return {
    text: shown
      ? `[${signedPct(lowPct, digits)}, ${signedPct(highPct, digits)}]`
      : "-",
    changed: shown && !printedIncludes(lowPct, highPct, 0, digits) &&
      Math.abs(deltaPct) >= noisePct,
    shown,
  };
}
