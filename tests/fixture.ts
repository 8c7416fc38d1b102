/** A small hand-checked run, written as real run files. */
import type { RoundRow, SessionRow } from "../src/run/schema.ts";
import { CsvSink } from "../src/run/csv_sink.ts";
import type { Status } from "../src/clients/seam.ts";

let RUN_ID = "fixture";

function session(
  client: string,
  pool: number,
  round: number,
  n: number,
  at: number,
  total: number,
  status: Status = "ok",
): SessionRow {
  const ok = status === "ok";
  return {
    run_id: RUN_ID,
    client,
    pool_size: pool,
    round,
    session: n,
    started_at_ms: at,
    connect_ms: 1,
    auth_ms: ok ? 2 : undefined,
    exec_ms: ok ? 3 : undefined,
    read_ms: ok ? 4 : undefined,
    close_ms: ok ? total - 10 : undefined,
    total_ms: total,
    bytes: ok ? 100 : 0,
    lines: ok ? 2 : 0,
    exit_code: ok ? 0 : undefined,
    status,
    error: ok ? "" : 'auth: refused, "really"',
  };
}

function round(
  client: string,
  pool: number,
  n: number,
  ok: number,
  failed: number,
  cpu: number,
  server?: number,
): RoundRow {
  return {
    run_id: RUN_ID,
    client,
    pool_size: pool,
    round: n,
    started_at_ms: 0,
    wall_ms: 100,
    ok,
    failed,
    client_cpu_ms: cpu,
    server_cpu_ms: server,
    client_rss_mb: 50 + n,
  };
}

/** Writes the fixture run; see each number's use in the tests below. */
/** Writes the fixture run into a new temp dir, with run id `runId`. */
export function fixture(runId = "fixture"): string {
  RUN_ID = runId;
  const dir = Deno.makeTempDirSync();
  const sink = CsvSink.create(dir);
  // ssh2, pool 1: interval 0 holds totals 10 and 20 (4999.999 is still in
  // [0, 5000)); interval 1 holds 30 and 40 plus one failed session.
  sink.write(
    [session("ssh2", 1, 1, 1, 0, 10)],
    round("ssh2", 1, 1, 1, 0, 10, 30),
  );
  sink.write(
    [session("ssh2", 1, 2, 1, 4999.999, 20)],
    round("ssh2", 1, 2, 1, 0, 10, 30),
  );
  sink.write(
    [session("ssh2", 1, 3, 1, 5000, 30)],
    round("ssh2", 1, 3, 1, 0, 10, 30),
  );
  sink.write(
    [session("ssh2", 1, 4, 1, 6000, 5, "auth_error")],
    round("ssh2", 1, 4, 0, 1, 10, 30),
  );
  sink.write(
    [session("ssh2", 1, 5, 1, 9000, 40)],
    round("ssh2", 1, 5, 1, 0, 10, 30),
  );
  // ssh2, pool 2 in interval 2: one round, totals 50 and 70.
  sink.write(
    [
      session("ssh2", 2, 1, 1, 10_000, 50),
      session("ssh2", 2, 1, 2, 10_000, 70),
    ],
    round("ssh2", 2, 1, 2, 0, 20, 60),
  );
  // libssh2, pool 1, no server CPU (external target style).
  sink.write(
    [session("libssh2", 1, 1, 1, 12_000, 15)],
    round("libssh2", 1, 1, 1, 0, 4),
  );
  sink.close();
  Deno.writeTextFileSync(
    `${dir}/meta.json`,
    JSON.stringify({
      run_id: RUN_ID,
      started_at: "2026-11-25T00:00:00Z",
      machine: { cores: 2, cpu_model: "Test CPU" },
      versions: { deno: "x", clients: { ssh2: "1", libssh2: "2" } },
    }),
  );
  return dir;
}
