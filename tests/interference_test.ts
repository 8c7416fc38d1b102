/**
 * Comparisons that are honest about the machine: a short real run on the
 * embedded server beside a CPU hog (a busy loop this test starts, outside
 * the run's cgroups) and the same run without it. Other processes' CPU is
 * measured per round from the root cgroup; only the run beside the hog is
 * warned about, and `deno task compare` calls the pair's cells not
 * comparable instead of changed. The half without the hog needs a quiet
 * machine: the test waits for one (other processes under 10 % of a core),
 * as a benchmark would.
 */
import { assert, assertEquals } from "./assert.ts";
import { benchCli } from "./server_helpers.ts";
import { cpuSnapshot, otherCpuMs } from "../src/util/other_cpu.ts";
import { compareRuns } from "../src/cli/compare.ts";
import { readCsv } from "../src/analysis/load.ts";
import { ROUND_COLUMNS } from "../src/run/schema.ts";

/** Other processes' CPU over `ms`, in % of one core. */
async function otherShare(ms: number): Promise<number> {
  const a = cpuSnapshot();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuSnapshot();
  if (!a || !b) throw new Error("the root cgroup cannot be read (run as root)");
  return 100 * otherCpuMs(a, b) / (performance.now() - t0);
}

/**
 * Waits (up to `maxMs`) until other processes use under 10 % of a core
 * over two seconds in a row; returns the last share measured.
 */
async function quietMachine(maxMs = 300_000): Promise<number> {
  const deadline = performance.now() + maxMs;
  let share = Infinity;
  while (performance.now() < deadline) {
    share = Math.max(await otherShare(1000), await otherShare(1000));
    if (share < 10) return share;
    await new Promise((r) => setTimeout(r, 3000));
  }
  return share;
}

const WARNING = /^warning: other processes used the machine during this run/m;

function args(dir: string): string[] {
  return [
    "--clients",
    "ssh2",
    "--pool",
    "2",
    "--step-seconds",
    "2",
    "--out",
    dir,
    "--no-charts",
  ];
}

Deno.test("interference: a run beside a CPU hog is warned about and compare calls it not comparable; the same run alone is not warned about", async () => {
  const out = await Deno.makeTempDir();
  try {
    // Without the hog, on a quiet machine (waited for; again if another
    // process started meanwhile, which the warning then rightly names).
    let quiet = { code: -1, stdout: "", stderr: "" };
    let share = Infinity;
    for (let attempt = 1; attempt <= 3; attempt++) {
      share = await quietMachine();
      await Deno.remove(`${out}/quiet`, { recursive: true }).catch(() => {});
      quiet = await benchCli(args(`${out}/quiet`));
      assertEquals(quiet.code, 0, quiet.stderr);
      if (!WARNING.test(quiet.stdout)) break;
    }
    assert(
      !WARNING.test(quiet.stdout),
      `warned without the hog (machine before the run: ${
        share.toFixed(0)
      } % of a core by other processes):\n${quiet.stdout}`,
    );
    const qm = JSON.parse(await Deno.readTextFile(`${out}/quiet/meta.json`));
    assertEquals(qm.interference.busy, false);
    // The run's own kernel work (loopback TCP) is not counted as other.
    for (const row of qm.summary) {
      assert(row.other_cpu_pct < 10, JSON.stringify(row));
    }

    // Beside a busy loop that is no part of the run.
    const hog = new Deno.Command("sh", {
      args: ["-c", "while :; do :; done"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let busy;
    try {
      busy = await benchCli(args(`${out}/busy`));
    } finally {
      hog.kill("SIGKILL");
      await hog.status;
    }
    assertEquals(busy.code, 0, busy.stderr);
    assert(WARNING.test(busy.stdout), busy.stdout);
    const bm = JSON.parse(await Deno.readTextFile(`${out}/busy/meta.json`));
    assertEquals(bm.interference.busy, true);
    assert(
      bm.warnings.some((w: string) => WARNING.test(w)),
      String(bm.warnings),
    );
    const rounds = readCsv(`${out}/busy/rounds.csv`, ROUND_COLUMNS)
      .toRecords() as { other_cpu_ms: number; cpu_window_ms: number }[];
    const shares = rounds.map((r) => r.other_cpu_ms / r.cpu_window_ms);
    // The hog had a core, less what the run took from it: over half of one.
    assert(
      shares.filter((s) => s > 0.5).length > rounds.length / 2,
      JSON.stringify(shares),
    );

    // The pair: not comparable, never changed.
    const dirs = [`${out}/quiet`, `${out}/busy`];
    const json = JSON.parse(compareRuns(dirs, "json"));
    const rows = json.comparisons[0].rows as { verdict: string }[];
    assert(rows.length > 0);
    assert(
      rows.every((r) => r.verdict === "not comparable"),
      JSON.stringify(rows),
    );
    const table = compareRuns(dirs, "table");
    assert(table.includes("not comparable (machine busy)"), table);
    assert(
      /^warning: not comparable \(machine busy\): ssh2 at pool 2/m.test(table),
      table,
    );

    // summary.json is summary.csv, typed.
    const csv = (await Deno.readTextFile(`${out}/busy/summary.csv`)).trim()
      .split("\n").map((l) => l.split(","));
    const summary = JSON.parse(
      await Deno.readTextFile(`${out}/busy/summary.json`),
    );
    assertEquals(Object.keys(summary[0]), csv[0]);
    assertEquals(summary.length, csv.length - 1);
    for (const [i, row] of summary.entries()) {
      csv[0].forEach((k, j) => {
        const cell = csv[i + 1][j];
        const v = row[k];
        if (typeof v === "number") {
          assert(Math.abs(v - Number(cell)) < 0.001, `${k}: ${v} vs ${cell}`);
        } else if (v === null) {
          assert(cell === "" || cell === "NaN", `${k}: ${cell}`);
        } else assertEquals(String(v), cell, k);
      });
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
