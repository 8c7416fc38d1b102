/**
 * What differs between runs' parameters (`meta.json`), as one warning line
 * for the top of a comparison: a change measured across runs that differ
 * in more than the one thing compared measures those differences too. The
 * embedded server's implementation reads as `openssh` for runs recorded
 * before `--server-impl`.
 *
 * @module
 */

import { sameCommand } from "../util/paths.ts";

/** Parameters that say nothing about the measurement conditions. */
const IGNORED = new Set(["clients", "stages"]);

/** A parameter's value as compared and shown. */
function shown(v: unknown): string {
  return v === undefined || v === null ? "-" : JSON.stringify(v);
}

/**
 * The parameters of `runs` whose values differ, each with every run's value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parameterDifferences } from "./parameter_diff.ts";
 * const a = { parameters: { step_seconds: 5, servers: 1 }, target: { kind: "embedded" } };
 * const b = { parameters: { step_seconds: 1, servers: 1, server_impl: "go" }, target: { kind: "embedded" } };
 * assert.equal(parameterDifferences([["A", a], ["B", b]]),
 *   'warning: these runs differ in server_impl (A: "openssh", B: "go"), step_seconds (A: 5, B: 1): the changes below measure those differences too');
 * assert.equal(parameterDifferences([["A", a], ["A2", a]]), undefined);
 * const c = (dir: string) => ({ parameters: { command: `cat /tmp/ssh-bench-sshd-${dir}/payload.txt` } });
 * assert.equal(parameterDifferences([["A", c("ab12")], ["B", c("cd34")]]), undefined);
 * ```
 */
export function parameterDifferences(
  runs: readonly (readonly [string, unknown])[],
): string | undefined {
  const params = runs.map(([, meta]) => {
    const m = (meta ?? {}) as {
      parameters?: Record<string, unknown>;
      target?: { kind?: string };
    };
    const p = { ...(m.parameters ?? {}) };
    // The embedded server's temp dir is new in every run.
    if (typeof p.command === "string") p.command = sameCommand(p.command);
    if (m.target?.kind === "embedded" && p.server_impl == null) {
      p.server_impl = "openssh";
    }
    return p;
  });
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))]
    .filter((k) => !IGNORED.has(k)).sort();
  const diffs = keys.filter((k) =>
    new Set(params.map((p) => shown(p[k]))).size > 1
  );
  if (diffs.length === 0) return undefined;
  return `warning: these runs differ in ${
    diffs.map((k) =>
      `${k} (${
        params.map((p, i) => `${runs[i][0]}: ${shown(p[k])}`).join(", ")
      })`
    ).join(", ")
  }: the changes below measure those differences too`;
}
