/**
 * Synthetic run folders for the analysis benchmark and tests: plausible
 * session and round rows from a seeded generator (same `n`, same files),
 * written through the real CSV sink, with a minimal run record.
 *
 * @module
 */
import type { Status } from "../clients/seam.ts";
import { CsvSink } from "../run/csv_sink.ts";
import { SCHEMA_VERSION, type SessionRow } from "../run/schema.ts";

const CLIENTS = ["ssh2", "libssh2", "openssh"];

/** A seeded uniform generator in [0, 1). */
function generator(seed = 12345): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** One synthetic session (0.5 % fail at connect). */
function session(
  rnd: () => number,
  at: { client: string; pool: number; round: number; s: number; t: number },
): SessionRow {
  const failed = rnd() < 0.005;
  const status: Status = failed ? "connect_error" : "ok";
  const ph = [0.3, 10 + at.pool * 2, 3, 2, 1].map((m) =>
    m * (0.7 + rnd() * 0.6)
  );
  return {
    run_id: "synthetic",
    client: at.client,
    pool_size: at.pool,
    round: at.round,
    session: at.s,
    started_at_ms: at.t + rnd() * 2,
    connect_ms: ph[0],
    auth_ms: failed ? undefined : ph[1],
    exec_ms: failed ? undefined : ph[2],
    read_ms: failed ? undefined : ph[3],
    close_ms: failed ? undefined : ph[4],
    total_ms: failed ? ph[0] : ph.reduce((a, b) => a + b, 0),
    bytes: failed ? 0 : 26000,
    lines: failed ? 0 : 515,
    exit_code: failed ? undefined : 0,
    status,
    error: failed ? "connect: Connection refused" : "",
  };
}

/**
 * Writes a synthetic run folder with `n` sessions over three clients,
 * pools cycling 1..100, 5 rounds each; returns its path.
 *
 * @example
 * ```ts
 * import { syntheticRun } from "./synthetic.ts";
 * import assert from "node:assert/strict";
 * const dir = await syntheticRun(1000);
 * const lines = Deno.readTextFileSync(`${dir}/sessions.csv`).trimEnd().split("\n");
 * assert.equal(lines.length, 1 + 1000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function syntheticRun(n: number, dir?: string): Promise<string> {
  const out = dir ?? await Deno.makeTempDir({ prefix: "ssh-bench-synthetic-" });
  const sink = CsvSink.create(out);
  const rnd = generator();
  let t = 0;
  for (const [i, client] of CLIENTS.entries()) {
    // The first clients take the rounding remainder; the sizes sum to n.
    const perClient = Math.floor(n / CLIENTS.length) +
      (i < n % CLIENTS.length ? 1 : 0);
    let done = 0;
    for (let pool = 1; done < perClient; pool = pool % 100 + 1) {
      for (let round = 1; round <= 5 && done < perClient; round++) {
        const size = Math.min(pool, perClient - done);
        const sessions = Array.from(
          { length: size },
          (_, k) => session(rnd, { client, pool, round, s: k + 1, t }),
        );
        const ok = sessions.filter((s) => s.status === "ok").length;
        const wall = 10 + pool * 2.5;
        sink.write(sessions, {
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
        });
        t += wall + 1;
        done += size;
      }
    }
  }
  sink.close();
  await Deno.writeTextFile(
    `${out}/meta.json`,
    JSON.stringify({
      schema_version: SCHEMA_VERSION,
      run_id: "synthetic",
      started_at: new Date().toISOString(),
      machine: { cores: navigator.hardwareConcurrency, cpu_model: "synthetic" },
      versions: { deno: Deno.version.deno },
    }),
  );
  return out;
}
