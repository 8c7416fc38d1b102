/**
 * `deno task bench:server-profiles [ROUNDS]`: the embedded server's two
 * profiles side by side in one run. A `lean` and a `stock` sshd run at
 * once; one client (ssh2, in its worker) sends rounds to them in turn
 * (the order alternating), at pools 20 and 100. Per round: sshd CPU per
 * session (its cgroup) and sessions per second (pool / round wall time).
 * Prints each profile's median with a 95 % interval over rounds, and the
 * stock / lean ratio with its interval.
 *
 * @module
 */
import { loadRunners } from "../clients/registry.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { clusterInterval, ratioInterval } from "../util/inference.ts";

const fmt = (i: { median: number; low: number; high: number }, d = 1) =>
  `${i.median.toFixed(d)} [${i.low.toFixed(d)}, ${i.high.toFixed(d)}]`;

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 10);
  const pools = [20, 100];
  const servers = {
    lean: await EmbeddedServer.start({
      maxPool: 100,
      payloadBytes: 26_000,
      profile: "lean",
    }),
    stock: await EmbeddedServer.start({
      maxPool: 100,
      payloadBytes: 26_000,
      profile: "stock",
    }),
  };
  const [client] = await loadRunners(["ssh2"], console.error);
  try {
    console.log(
      `ssh2 against both profiles, ${rounds} rounds each per pool size, alternating; sshd CPU from ${servers.lean.cpuMethod}`,
    );
    for (const pool of pools) {
      const cpu = { lean: [] as number[][], stock: [] as number[][] };
      const rate = { lean: [] as number[][], stock: [] as number[][] };
      for (let r = 0; r <= rounds; r++) {
        const order = r % 2
          ? ["stock", "lean"] as const
          : ["lean", "stock"] as const;
        for (const name of order) {
          const server = servers[name];
          const c0 = server.cpuMs()!;
          const res = await client.runRound({
            round: r,
            sessions: pool,
            target: server.target,
            commandsPerSession: 1,
            timeoutMs: 60_000,
          });
          await new Promise((ok) => setTimeout(ok, 100)); // let sshd reap
          const c1 = server.cpuMs()!;
          if (r === 0 || !res) continue; // warm-up
          const wall = Math.max(...res.sessions.map((s) => s.end_ms));
          const okCount = res.sessions.filter((s) => s.status === "ok").length;
          if (okCount !== pool) {
            console.log(`  ${name}: ${pool - okCount} failed`);
          }
          cpu[name].push([(c1 - c0) / pool]);
          rate[name].push([pool / (wall / 1000)]);
        }
      }
      console.log(`pool ${pool}:`);
      for (const name of ["lean", "stock"] as const) {
        console.log(
          `  ${name.padEnd(5)} sshd CPU ${
            fmt(clusterInterval(cpu[name]), 2)
          } ms/session, ${fmt(clusterInterval(rate[name]))} sessions/s`,
        );
      }
      console.log(
        `  stock / lean: sshd CPU ${
          fmt(ratioInterval(cpu.stock, cpu.lean), 2)
        }x, sessions/s ${fmt(ratioInterval(rate.stock, rate.lean), 2)}x`,
      );
    }
  } finally {
    await client.close();
    await servers.lean.stop();
    await servers.stock.stop();
  }
}
