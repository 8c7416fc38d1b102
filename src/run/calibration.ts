/**
 * The calibration before the sweep: each client runs the remote no-op
 * `true` a few times. An unreachable target or a refused key stops the run
 * here, before a run folder exists. Each client's line says what its no-op
 * time is made of: the exec phase (where the server's delayed-ACK stall
 * after auth lands) and the time from the exec reply to the exit (where a
 * slow login shell lands); a warning fires only for the latter. The
 * algorithms each client negotiated are kept; with pinned algorithms, a
 * client that cannot honour them is left out with a warning.
 *
 * @module
 */
import type { AlgorithmPins, Negotiated, Target } from "../clients/seam.ts";
import type { ClientRunner } from "../clients/runner.ts";
import { UsageError } from "../util/errors.ts";
import { median } from "../util/quantile.ts";
import type { ClientCalibration } from "./record.ts";

/** Number of remote no-op sessions per client. */
export const CALIBRATION_SESSIONS = 5;
/**
 * From the exec reply to the exit, a no-op slower than this (for the best
 * client) means the remote login shell starts slowly, ms.
 */
export const SLOW_SHELL_MS = 50;
/**
 * An exec phase this long while the shell part stays short is the server's
 * delayed-ACK stall after auth (~40 ms on Linux), ms.
 */
export const STALL_MS = 30;

/**
 * A client's error for a handshake that failed for lack of a common
 * algorithm: the clients' own words (`no common cipher with the server
 * (...)`), libssh2's bare "Unable to exchange encryption keys", OpenSSH's
 * "no matching cipher found", ssh2's "no matching C->S cipher",
 * paramiko's "Incompatible ssh peer", asyncssh's "No matching ...
 * algorithm found".
 */
const NO_COMMON_ALGORITHM =
  /no common (key exchange|host key algorithm|cipher|MAC)|Unable to exchange encryption keys|no matching (key exchange|host key|cipher|MAC|C->S|S->C)|Incompatible ssh (peer|server)|No matching .* algorithm found/i;

/**
 * A client's error for a server key other than the one verified before the
 * run (or, for the embedded server, generated for it).
 */
const HOST_KEY_MISMATCH =
  /host key (does not match|not verifiable)|Host key verification failed|Host denied \(verification failed\)|not found in known_hosts|REMOTE HOST IDENTIFICATION HAS CHANGED/i;

/**
 * The one-line error for a failed no-op session, naming the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibrationError } from "./calibration.ts";
 * const t = { host: "h", port: 22, user: "me", identityFile: "/k", command: "true" };
 * const e = calibrationError({ name: "libssh2" } as never, t, "connect_error",
 *   "handshake: no common cipher with the server (client offers: aes128-ctr; server offers: chacha20-poly1305@openssh.com)");
 * assert.match(e.message, /^no common key exchange\/cipher with the server me@h:22; .*\(libssh2: handshake: no common cipher/);
 * assert.match(calibrationError({ name: "ssh2" } as never, t, "connect_error", "connect: Connection refused").message,
 *   /^cannot connect to me@h:22; check the host and port/);
 * ```
 */
export function calibrationError(
  client: Pick<ClientRunner, "name">,
  target: Target,
  status: string,
  error: string,
): UsageError {
  const where = `${target.user}@${target.host}:${target.port}`;
  const hint = status === "connect_error" && NO_COMMON_ALGORITHM.test(error)
    ? `no common key exchange/cipher with the server ${where}; pin algorithms both sides support (--kex, --ciphers, --macs, --host-key-algorithms) or leave ${client.name} out with --clients`
    : status === "connect_error" && HOST_KEY_MISMATCH.test(error)
    ? `the server ${where} showed ${client.name} a host key other than the one checked before the run; its key changed since, or another server answers there`
    : status === "connect_error"
    ? `cannot connect to ${where}; check the host and port and that sshd runs there`
    : status === "auth_error"
    ? `${where} refused the key ${target.identityFile}; check --identity and the account's authorized_keys`
    : status === "timeout"
    ? `no answer from ${where} within the timeout; check the address or raise --timeout`
    : `the remote no-op "true" failed on ${where}`;
  return new UsageError(`${hint} (${client.name}: ${error})`);
}

/**
 * Throws the signal's reason once it is aborted: an interruption (Ctrl-C)
 * or a fault that names what died (a link's forwarder). An interruption
 * without a reason of its own throws "interrupted during calibration".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stopIfAborted } from "./calibration.ts";
 * const ac = new AbortController();
 * stopIfAborted(ac.signal); // not aborted: nothing happens
 * ac.abort();
 * assert.throws(() => stopIfAborted(ac.signal), /interrupted during calibration/);
 * ```
 */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const r = signal.reason;
  throw r instanceof Error && r.name !== "AbortError"
    ? r
    : new Error("interrupted during calibration");
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
 * import { InProcessRunner } from "../clients/runner.ts";
 * import assert from "node:assert/strict";
 * const c = await calibrate(new InProcessRunner(new NullClient()), { command: "x" } as never, 1000);
 * assert.equal(c.total_ms.length, 5);
 * assert.ok(c.exec_median_ms >= 0 && c.shell_median_ms >= 0);
 * ```
 */
export async function calibrate(
  client: ClientRunner,
  target: Target,
  timeoutMs: number,
  /** Aborting it ends the session in flight and throws its reason. */
  signal?: AbortSignal,
): Promise<ClientCalibration> {
  const noop = { ...target, command: "true" };
  const total: number[] = [];
  const remote: number[] = [];
  const exec: number[] = [];
  const shell: number[] = [];
  let negotiated: Negotiated | undefined;
  for (let i = 0; i < CALIBRATION_SESSIONS; i++) {
    const r = await client.runRound({
      round: i + 1,
      sessions: 1,
      target: noop,
      commandsPerSession: 1,
      timeoutMs: Math.min(timeoutMs, 30_000),
      signal,
    });
    stopIfAborted(signal);
    const s = r?.sessions[0];
    if (!s || s.status !== "ok") {
      throw calibrationError(
        client,
        target,
        s?.status ?? "timeout",
        s?.error ?? "no result",
      );
    }
    negotiated ??= s.negotiated ?? undefined;
    const auth = s.auth_ms ?? s.start_ms;
    const execEnd = s.exec_ms ?? auth;
    total.push(s.end_ms - s.start_ms);
    exec.push(execEnd - auth);
    shell.push((s.close_ms ?? s.end_ms) - execEnd);
    remote.push((s.close_ms ?? s.end_ms) - auth);
  }
  return {
    total_ms: total,
    remote_ms: remote,
    total_median_ms: median(total),
    remote_median_ms: median(remote),
    exec_median_ms: median(exec),
    shell_median_ms: median(shell),
    negotiated: negotiated ?? null,
    ...(await client.calibrate?.()),
  };
}

/**
 * What a client's no-op time is made of, for its calibration line.
 *
 * @example
 * ```ts
 * import { describeNoop } from "./calibration.ts";
 * import assert from "node:assert/strict";
 * const stall = { total_median_ms: 72, exec_median_ms: 45, shell_median_ms: 3 };
 * assert.match(describeNoop(stall as never), /delayed-ACK stall after auth, not the shell/);
 * const slow = { total_median_ms: 340, exec_median_ms: 4, shell_median_ms: 305 };
 * assert.match(describeNoop(slow as never), /slow login shell/);
 * ```
 */
export function describeNoop(c: ClientCalibration): string {
  const exec = c.exec_median_ms;
  const shell = c.shell_median_ms;
  const parts = [
    `median ${c.total_median_ms.toFixed(1)} ms in all`,
    `exec ${exec.toFixed(1)} ms${
      exec >= STALL_MS && shell < SLOW_SHELL_MS
        ? " (the server's delayed-ACK stall after auth, not the shell; see docs/results.md)"
        : ""
    }`,
    `exec reply to exit ${shell.toFixed(1)} ms${
      shell > SLOW_SHELL_MS ? " (slow login shell)" : ""
    }`,
  ];
  return parts.join(", ");
}

/** Which pinned algorithm a negotiation does not match, if any. */
function pinMismatch(
  pins: AlgorithmPins | undefined,
  n: Negotiated | null,
): string | undefined {
  if (!pins || !n) return undefined;
  const checks: [string, string[] | undefined, string][] = [
    ["kex", pins.kex, n.kex],
    ["cipher", pins.ciphers, n.cipher],
    ["host key algorithm", pins.hostKeyAlgorithms, n.hostKey],
  ];
  if (n.mac !== "<implicit>") checks.push(["MAC", pins.macs, n.mac]);
  for (const [what, want, got] of checks) {
    if (want && !want.includes(got)) {
      return `negotiated ${what} ${got}, not the pinned ${want.join(",")}`;
    }
  }
  return undefined;
}

/**
 * Calibrates every client in turn, logging one line each saying what its
 * no-op time is made of, and warns when even the best client's time from
 * the exec reply to the exit exceeds {@linkcode SLOW_SHELL_MS} (a slow
 * login shell). With pinned algorithms (`target.algorithms`), a client
 * whose calibration fails or negotiates something else is left out with a
 * warning; without pins a failure stops the run.
 *
 * @example
 * ```ts
 * import { calibrateAll } from "./calibration.ts";
 * import { NullClient } from "../clients/null.ts";
 * import { InProcessRunner } from "../clients/runner.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const { calibration, clients } = await calibrateAll([new InProcessRunner(new NullClient())], { command: "x" } as never, 1000, (l) => lines.push(l));
 * assert.deepEqual(Object.keys(calibration), ["null"]);
 * assert.equal(clients.length, 1);
 * assert.match(lines[0], /^calibration: remote no-op "true" with null: median/);
 * ```
 */
export async function calibrateAll(
  clients: readonly ClientRunner[],
  target: Target,
  timeoutMs: number,
  log: (line: string) => void,
  /** The target is this run's embedded server (for the advice's wording). */
  embedded = false,
  /**
   * Aborting it (Ctrl-C, or a link that died) ends the calibration at
   * once: the session in flight is abandoned and the reason thrown.
   */
  signal?: AbortSignal,
): Promise<{
  calibration: Record<string, ClientCalibration>;
  clients: ClientRunner[];
}> {
  const calibration: Record<string, ClientCalibration> = {};
  const kept: ClientRunner[] = [];
  for (const c of clients) {
    stopIfAborted(signal);
    let cal: ClientCalibration;
    try {
      cal = await calibrate(c, target, timeoutMs, signal);
    } catch (e) {
      // An interruption is never taken for a client that cannot run.
      if (!target.algorithms || signal?.aborted) throw e;
      log(
        `warning: leaving ${c.name} out: it cannot run with the pinned algorithms (${
          (e as Error).message
        })`,
      );
      continue;
    }
    const mismatch = pinMismatch(target.algorithms, cal.negotiated ?? null);
    if (mismatch) {
      log(`warning: leaving ${c.name} out: it ${mismatch}`);
      continue;
    }
    calibration[c.name] = cal;
    kept.push(c);
    log(
      `calibration: remote no-op "true" with ${c.name}: ${describeNoop(cal)}`,
    );
  }
  if (kept.length === 0) {
    throw new UsageError(
      "no client can run with the pinned algorithms; see the warnings above, and pin algorithms every client supports",
    );
  }
  warnSlowShell(calibration, target, log, embedded);
  return { calibration, clients: kept };
}

function warnSlowShell(
  calibration: Record<string, ClientCalibration>,
  target: Target,
  log: (line: string) => void,
  embedded: boolean,
): void {
  const best = Math.min(
    ...Object.values(calibration).map((c) => c.shell_median_ms),
  );
  if (best <= SLOW_SHELL_MS) return;
  log(
    `warning: the remote login shell is slow: even the best client waits ${
      best.toFixed(0)
    } ms from the exec reply to the exit of a no-op (> ${SLOW_SHELL_MS} ms), and every session pays it. ${
      embedded
        ? "The embedded server's account should have shell /bin/sh and no rc files: run .ci/setup."
        : `Log in an account whose shell is /bin/sh without rc files (or remove what ${target.user}'s rc files run).`
    }`,
  );
}
