import { assert, assertEquals } from "./assert.ts";
import {
  runStep,
  type StepResult,
  type SweepOptions,
} from "../src/run/sweep.ts";
import {
  costWarnings,
  formatSummary,
  summarize,
  summaryJson,
} from "../src/run/summary.ts";
import { median, quantile } from "../src/util/quantile.ts";
import { InProcessRunner } from "../src/clients/runner.ts";
import type { SshClient } from "../src/clients/seam.ts";
import { FAKE_TARGET, FakeClient, MemorySink } from "./helpers.ts";

/** A fake client behind the in-process runner, as the sweep takes it. */
const inProcess = (c: SshClient) => new InProcessRunner(c, () => 0);

function opts(sink: MemorySink, o: Partial<SweepOptions> = {}): SweepOptions {
  return {
    target: FAKE_TARGET,
    runId: "t",
    runStart: performance.now(),
    stepSeconds: 0,
    minRounds: 1,
    timeoutMs: 5_000,
    sink,
    harnessCpuMs: () => 0,
    ...o,
  };
}

Deno.test("sweep: a round starts all N sessions together and numbers them", async () => {
  const sink = new MemorySink();
  const client = new FakeClient({ delayMs: 20 });
  const r = await runStep(inProcess(client), 7, opts(sink, { minRounds: 3 }));
  assertEquals(client.maxActive, 7);
  assertEquals(r.rounds, 3);
  assertEquals(r.sessions, 21);
  assertEquals(sink.rounds.map((x) => x.round), [1, 2, 3]);
  assertEquals(
    sink.sessions.filter((s) => s.round === 2).map((s) => s.session),
    [1, 2, 3, 4, 5, 6, 7],
  );
  for (const s of sink.sessions) {
    assertEquals([s.pool_size, s.client, s.status], [7, "fake", "ok"]);
    assert(s.total_ms >= 0 && s.close_ms !== undefined);
  }
  for (const rr of sink.rounds) assertEquals([rr.ok, rr.failed], [7, 0]);
  // Rounds do not overlap: each starts after the previous one ended.
  for (let i = 1; i < sink.rounds.length; i++) {
    const prev = sink.rounds[i - 1];
    assert(sink.rounds[i].started_at_ms >= prev.started_at_ms + prev.wall_ms);
  }
});

Deno.test("sweep: rounds repeat until the step time has elapsed", async () => {
  const sink = new MemorySink();
  const t0 = performance.now();
  const r = await runStep(
    inProcess(new FakeClient({ delayMs: 10 })),
    2,
    opts(sink, { stepSeconds: 0.2 }),
  );
  assert(performance.now() - t0 >= 200);
  assert(r.rounds >= 2, `rounds ${r.rounds}`);
});

Deno.test("sweep: failures, throws and hangs become rows, never crashes", async () => {
  const sink = new MemorySink();
  const client = new FakeClient({
    behave: (n) =>
      n === 1 ? "fail" : n === 2 ? "throw" : n === 3 ? "hang" : "ok",
  });
  const r = await runStep(inProcess(client), 4, opts(sink, { timeoutMs: 100 }));
  const byStatus = Object.fromEntries(
    sink.sessions.map((s) => [s.session, s.status]),
  );
  assertEquals(byStatus, {
    1: "auth_error",
    2: "read_error",
    3: "timeout",
    4: "ok",
  });
  assertEquals(r.failures, { auth_error: 1, read_error: 1, timeout: 1 });
  const hung = sink.sessions.find((s) => s.session === 3)!;
  assert(hung.total_ms >= 100 && hung.total_ms < 2000, `${hung.total_ms}`);
  assertEquals(hung.connect_ms !== undefined, true); // phases reached survive
  assertEquals(hung.auth_ms, undefined);
  assertEquals(sink.rounds[0].failed, 3);
});

Deno.test("sweep: an aborted step writes no partial round", async () => {
  const sink = new MemorySink();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const r = await runStep(
    inProcess(new FakeClient({ behave: () => "hang" })),
    3,
    opts(sink, { signal: ac.signal, timeoutMs: 10_000 }),
  );
  assertEquals(r.rounds, 0);
  assertEquals(sink.sessions.length, 0);
});

Deno.test("sweep: health check stops the step after the round", async () => {
  const sink = new MemorySink();
  const r = await runStep(
    inProcess(new FakeClient()),
    1,
    opts(sink, { minRounds: 5, health: () => "server gone" }),
  );
  assertEquals(r.rounds, 1);
  assertEquals(r.stopped, "server gone");
});

Deno.test("sweep: the failed rows of the round a server died under name it", async () => {
  const sink = new MemorySink();
  let dead = false;
  // The server dies during round 2: its sessions fail, the first round's did not.
  const client = new FakeClient({ behave: (n) => n > 2 ? "fail" : "ok" });
  const r = await runStep(
    inProcess(client),
    2,
    opts(sink, {
      minRounds: 5,
      health: () => {
        if (client.calls > 2) dead = true;
        return dead
          ? "the embedded Go server exited; see its log above"
          : undefined;
      },
    }),
  );
  assertEquals(r.rounds, 2);
  assertEquals(
    sink.sessions.map((s) => [s.round, s.status, s.error]),
    [
      [1, "ok", ""],
      [1, "ok", ""],
      ...[1, 2].map(() => [
        2,
        "auth_error",
        'the embedded Go server exited (auth: denied, with "quotes", commas\nand a newline)',
      ]),
    ],
  );
});

Deno.test("stats: quantiles interpolate; summary per session and per second", () => {
  assertEquals(median([1, 2, 3, 4]), 2.5);
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(quantile([1, 2, 3, 4, 5], 0.9), 4.6);
  assert(Number.isNaN(median([])));
  const [row] = summarize([{
    client: "c",
    pool: 2,
    rounds: 2,
    sessions: 4,
    ok: 3,
    failures: { timeout: 1 },
    okTotals: [10, 20, 30],
    okRounds: [[10, 20, 30].map((total_ms) => ({ total_ms }))] as never,
    roundWalls: [30, 30],
    clientCpuMs: 8,
    serverCpuMs: 40,
    machineCpuMs: NaN, // not read: the limit falls back to client + server
    machineWindowMs: 0,
    wallMs: 60,
    maxRssMb: 1,
  }]);
  assertEquals(row.failed, 1);
  assertEquals(row.total_p50_ms, 20);
  assertEquals(row.client_cpu_ms_per_session, 2);
  assertEquals(row.server_cpu_ms_per_session, 10);
  assertEquals(Math.round(row.sessions_per_s * 1000) / 1000, 66.667);
});

/**
 * One round of 10 ok sessions in 100 ms (100 sessions/s), the client's CPU
 * 2 ms per session; the server's and the machine's CPU are the test's (and
 * any other field it gives).
 */
function tenSessions(
  cpu: Pick<StepResult, "serverCpuMs" | "machineCpuMs"> & Partial<StepResult>,
): StepResult {
  return {
    client: "c",
    pool: 10,
    rounds: 1,
    sessions: 10,
    ok: 10,
    failures: {},
    okTotals: [1],
    okRounds: [[1].map((total_ms) => ({ total_ms }))] as never,
    roundWalls: [100],
    clientCpuMs: 20,
    machineWindowMs: 0,
    wallMs: 100,
    maxRssMb: 1,
    ...cpu,
  };
}

Deno.test("summary: CPU limit, percent of it, and the server-bound warning", () => {
  const step = tenSessions({
    serverCpuMs: 180, // 18 ms per session
    machineCpuMs: NaN, // not read: the limit falls back to client + server
  });
  const [row] = summarize([step], 2);
  assertEquals(row.limit_sessions_per_s, 100); // 2 cores x 1000 / 20 ms
  assertEquals(row.pct_of_limit, 100);
  const warnings = costWarnings([row]);
  assertEquals(warnings.length, 1);
  assert(
    warnings[0].includes("server-bound") && warnings[0].includes("--target"),
  );
  // Client-bound or far from the limit: no warning.
  const [light] = summarize([{ ...step, wallMs: 1000 }], 2);
  assertEquals(costWarnings([light]), []);
  const [clientHeavy] = summarize([{ ...step, clientCpuMs: 500 }], 2);
  assertEquals(costWarnings([clientHeavy]), []);
});

Deno.test("summary: what bound each pool size, in every row, the terminal summary and the warning", () => {
  // Two clients at pools 1, 2, 10, 20, 30: the server outspends both from
  // pool 10 on, only client "b" at 30 (client "a" is heavier there).
  const step = (client: string, pool: number, serverMs: number) =>
    tenSessions({
      client,
      pool,
      serverCpuMs: serverMs * 10,
      clientCpuMs: (client === "a" && pool === 30 ? 30 : 2) * 10,
      machineCpuMs: NaN,
    });
  const steps = [1, 2, 10, 20, 30].flatMap((pool) =>
    ["a", "b"].map((c) => step(c, pool, pool < 10 ? 1 : 18))
  );
  const rows = summarize(steps, 2);
  assertEquals(
    rows.map((r) => `${r.client}${r.pool_size}:${r.bound_by}`).join(" "),
    "a1:client b1:client a2:client b2:client a10:server b10:server a20:server b20:server a30:client b30:server",
  );
  // Stored: summary.json (and so summary.csv, meta.json) has the field.
  assertEquals(
    JSON.parse(summaryJson(rows)).map((r: { bound_by: string }) => r.bound_by),
    rows.map((r) => r.bound_by),
  );
  // Said in the terminal summary whether or not a step was server-bound.
  const text = formatSummary(rows).split("\n");
  assert(
    text.includes(
      "bound by: the clients at pools 1-2, the server at 10-20, the server for some clients at 30",
    ),
    text.join("\n"),
  );
  const light = summarize(steps.filter((s) => s.pool < 10), 2);
  assert(
    formatSummary(light).split("\n").includes(
      "bound by: the clients at pools 1-2",
    ),
  );
  assertEquals(costWarnings(light), []);
  // The warning names the pools where every client and where some were.
  const [w] = costWarnings(rows);
  assert(
    w.startsWith(
      "warning: server-bound (every client at pool 10, 20; some clients at pool 30): ",
    ),
    w,
  );
  // An external target (no server CPU): no verdict, no line.
  const target = summarize([
    tenSessions({ serverCpuMs: NaN, machineCpuMs: NaN }),
  ], 2);
  assertEquals(target[0].bound_by, "");
  assert(!formatSummary(target).includes("bound by"));
});

Deno.test("summary: machine CPU sets the limit, the unattributed part and the saturation warning", () => {
  const step = tenSessions({
    serverCpuMs: 140, // 14 ms per session
    machineCpuMs: 190, // 19 ms per session: 3 ms neither client nor server
    machineWindowMs: 100,
  });
  const [row] = summarize([step], 2);
  assertEquals(row.machine_cpu_ms_per_session, 19);
  assertEquals(row.unattributed_cpu_ms_per_session, 3);
  assertEquals(row.machine_busy_pct, 95); // 190 of 2 x 100 ms
  assertEquals(row.limit_sessions_per_s, 2000 / 19);
  const w = costWarnings([row]);
  assertEquals(w.length, 2);
  assert(
    w[1].startsWith(
      "warning: the machine was over 90% busy: c at pool 10 (95%)",
    ),
    w[1],
  );
  const [calm] = summarize([{ ...step, machineCpuMs: 170 }], 2); // 85 %
  assertEquals(costWarnings([calm]).filter((l) => l.includes("busy")), []);
});
