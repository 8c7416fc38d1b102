/**
 * The calibration before the sweep: each client runs the remote no-op
 * `true` a few times. An unreachable target or a refused key stops the run
 * here, before a run folder exists; the times go to `meta.json`, and a
 * warning says when even the best client's remote part is slow.
 *
 * @module
 */
import type { SshClient, Target } from "../clients/seam.ts";
import { UsageError } from "../util/errors.ts";
import { median } from "../util/quantile.ts";
import type { ClientCalibration } from "./record.ts";
import { timedSession } from "./sweep.ts";

/** Number of remote no-op sessions per client. */
export const CALIBRATION_SESSIONS = 5;
/** A no-op slower than this from exec to close is worth a warning, ms. */
export const NOOP_WARN_MS = 50;

/** The one-line error for a failed no-op session, naming the fix. */
function calibrationError(
  client: SshClient,
  target: Target,
  status: string,
  error: string,
): UsageError {
  const where = `${target.user}@${target.host}:${target.port}`;
  const hint = status === "connect_error"
    ? `cannot connect to ${where}; check the host and port and that sshd runs there`
    : status === "auth_error"
    ? `${where} refused the key ${target.identityFile}; check --identity and the account's authorized_keys`
    : status === "timeout"
    ? `no answer from ${where} within the timeout; check the address or raise --timeout`
    : `the remote no-op "true" failed on ${where}`;
  return new UsageError(`${hint} (${client.name}: ${error})`);
}

/**
 * Runs the remote no-op `true` {@linkcode CALIBRATION_SESSIONS} times with
 * `client`, one after another, plus the client's own calibration.
 *
 * @throws {UsageError} at the first failed session.
 * @example
 * ```ts
 * import { calibrate } from "./calibration.ts";
 * import { NullClient } from "../clients/null.ts";
 * import assert from "node:assert/strict";
 * const c = await calibrate(new NullClient(), { command: "x" } as never, 1000);
 * assert.equal(c.total_ms.length, 5);
 * assert.ok(c.remote_median_ms >= 0);
 * ```
 */
export async function calibrate(
  client: SshClient,
  target: Target,
  timeoutMs: number,
): Promise<ClientCalibration> {
  const noop = { ...target, command: "true" };
  const total: number[] = [];
  const remote: number[] = [];
  for (let i = 0; i < CALIBRATION_SESSIONS; i++) {
    const { outcome, end, clock } = await timedSession(
      client,
      noop,
      Math.min(timeoutMs, 30_000),
    );
    if (outcome.status !== "ok") {
      throw calibrationError(client, target, outcome.status, outcome.error);
    }
    const p = clock.phases;
    total.push(end - clock.start);
    remote.push((p.exec ?? 0) + (p.read ?? 0) + (p.close ?? 0));
  }
  return {
    total_ms: total,
    remote_ms: remote,
    total_median_ms: median(total),
    remote_median_ms: median(remote),
    ...(await client.calibrate?.()),
  };
}

/**
 * Calibrates every client in turn, logging one line each, and a warning
 * when even the best client's exec-to-close median exceeds
 * {@linkcode NOOP_WARN_MS}.
 *
 * @example
 * ```ts
 * import { calibrateAll } from "./calibration.ts";
 * import { NullClient } from "../clients/null.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const all = await calibrateAll([new NullClient()], { command: "x" } as never, 1000, (l) => lines.push(l));
 * assert.deepEqual(Object.keys(all), ["null"]);
 * assert.match(lines[0], /^calibration: remote no-op "true" with null/);
 * ```
 */
export async function calibrateAll(
  clients: readonly SshClient[],
  target: Target,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Record<string, ClientCalibration>> {
  const out: Record<string, ClientCalibration> = {};
  for (const c of clients) {
    const cal = await calibrate(c, target, timeoutMs);
    out[c.name] = cal;
    log(
      `calibration: remote no-op "true" with ${c.name}: median ${
        cal.total_median_ms.toFixed(1)
      } ms in all, ${cal.remote_median_ms.toFixed(1)} ms from exec to close`,
    );
  }
  const best = Math.min(...Object.values(out).map((c) => c.remote_median_ms));
  if (best > NOOP_WARN_MS) {
    log(
      `warning: a remote no-op takes ${
        best.toFixed(0)
      } ms from exec to close (> ${NOOP_WARN_MS} ms): the remote shell's start-up dominates every session. Log in an account whose shell is /bin/sh without rc files.`,
    );
  }
  return out;
}
