/**
 * `deno task bench:harness`: the harness's own CPU per session. Runs the
 * sweep with the `null` client (no I/O) in a worker process, as every
 * client runs, at pool 100 and 1000, writing real CSV files and driving
 * the progress output, and reads the benchmark process's own CPU
 * (`harness_cpu_ms`: the protocol, timing, rows, files). For comparison it
 * also runs the null client in this process, as the clients ran before
 * the worker protocol, and measures the real clients' own CPU per session
 * at pool 10 against the embedded server. Target: the harness under 2 % of
 * the cheapest real client.
 *
 * @module
 */
import { loadRunners } from "../clients/registry.ts";
import { NullClient } from "../clients/null.ts";
import { type ClientRunner, InProcessRunner } from "../clients/runner.ts";
import { CsvSink } from "../run/csv_sink.ts";
import { Progress } from "../run/progress.ts";
import type { RoundRow } from "../run/schema.ts";
import { runStep } from "../run/sweep.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { selfCpuMs } from "../util/cpu.ts";

const NO_TARGET = {
  host: "",
  port: 0,
  user: "",
  identityFile: "",
  command: "",
};

/** The harness's CPU per session with `runner`, µs. */
async function harnessCost(
  runner: ClientRunner,
  pool: number,
  seconds: number,
): Promise<number> {
  const dir = await Deno.makeTempDir();
  try {
    const sink = CsvSink.create(dir);
    const rounds: RoundRow[] = [];
    const progress = new Progress({
      totalSteps: 1,
      stepSeconds: seconds,
      tty: false,
      write: () => {},
    });
    const c0 = selfCpuMs();
    const r = await runStep(runner, pool, {
      target: NO_TARGET,
      runId: "harness",
      runStart: performance.now(),
      stepSeconds: seconds,
      minRounds: 5,
      timeoutMs: 60_000,
      sink: {
        write: (s, round) => {
          sink.write(s, round);
          rounds.push(round);
        },
      },
      onRound: (p) => progress.round(p),
    });
    progress.step(r);
    sink.close();
    const c1 = selfCpuMs();
    // A worker's rounds carry the harness's own CPU; in this process the
    // harness and the (null) client are one and the same process.
    const harnessMs = runner.isolated
      ? rounds.reduce((s, x) => s + (x.harness_cpu_ms ?? 0), 0)
      : c1.self + c1.children - c0.self - c0.children;
    const us = harnessMs / r.sessions * 1000;
    console.log(
      `null client ${
        runner.isolated ? "in a worker" : "in this process"
      }, pool ${pool}: ${r.sessions} sessions in ${r.rounds} rounds, harness CPU ${
        us.toFixed(1)
      } µs per session`,
    );
    return us;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Each real client's own CPU per session at pool 10, ms; the cheapest. */
async function cheapestClient(
  seconds: number,
): Promise<{ name: string; ms: number }> {
  const server = await EmbeddedServer.start({
    maxPool: 10,
    payloadBytes: 26_000,
  });
  const runners = await loadRunners(undefined, console.error);
  try {
    let best = { name: "", ms: Infinity };
    for (const c of runners) {
      const r = await runStep(c, 10, {
        target: server.target,
        runId: "harness",
        runStart: performance.now(),
        stepSeconds: seconds,
        minRounds: 3,
        timeoutMs: 60_000,
        sink: { write: () => {} },
      });
      const ms = r.clientCpuMs / r.sessions;
      console.log(
        `${c.name}, pool 10: ${r.sessions} sessions, client CPU ${
          ms.toFixed(2)
        } ms per session`,
      );
      if (ms < best.ms) best = { name: c.name, ms };
    }
    return best;
  } finally {
    await server.stop();
    await Promise.all(runners.map((c) => c.close()));
  }
}

if (import.meta.main) {
  const [worker] = await loadRunners(["null"], console.error);
  const w100 = await harnessCost(worker, 100, 3);
  const w1000 = await harnessCost(worker, 1000, 3);
  await worker.close();
  const inProcess = new InProcessRunner(new NullClient());
  const p100 = await harnessCost(inProcess, 100, 3);
  const p1000 = await harnessCost(inProcess, 1000, 3);
  const best = await cheapestClient(3);
  const worst = Math.max(w100, w1000) / 1000;
  const pct = 100 * worst / best.ms;
  console.log(
    `\nharness with worker processes: ${
      w100.toFixed(1)
    } µs/session at pool 100, ${
      w1000.toFixed(1)
    } at pool 1000 (in-process, as before: ${p100.toFixed(1)} and ${
      p1000.toFixed(1)
    }); cheapest client ${best.name}: ${
      best.ms.toFixed(2)
    } ms/session; harness = ${pct.toFixed(2)} % of it (target < 2 %): ${
      pct < 2 ? "PASS" : "FAIL"
    }`,
  );
}
