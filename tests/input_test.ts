/**
 * Input the run cannot use, and runs whose sessions mostly failed, end to
 * end on a real sshd: `--max-failures` and exit code 3, an unusable
 * `--out` refused before anything starts, and the open-file limit.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { parse } from "csv-parse/sync";
import { failureCheck, type SummaryRow } from "../src/run/summary.ts";
import { run, type RunResult } from "../src/util/proc.ts";

const BENCH = new URL("../src/cli/bench.ts", import.meta.url).pathname;

/** A small run: ssh2 only, one round of each pool size, no charts. */
function small(pool = "1"): string[] {
  return [
    "--clients",
    "ssh2",
    "--pool",
    pool,
    "--rounds",
    "1",
    "--step-seconds",
    "0",
    "--no-charts",
  ];
}

/**
 * Runs the bench CLI, under `prefix` (e.g. `prlimit --nofile=...`) when
 * given; stdin closed.
 */
function bench(args: string[], prefix: string[] = []): Promise<RunResult> {
  const argv = [...prefix, Deno.execPath(), "run", "-A", BENCH, ...args];
  return run(argv[0], argv.slice(1));
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string, rel = ""): string[] {
  return [...Deno.readDirSync(`${dir}${rel}`)].flatMap((e) =>
    e.isDirectory
      ? [`${rel}/${e.name}/`, ...tree(dir, `${rel}/${e.name}`)]
      : [`${rel}/${e.name}`]
  ).sort();
}

/** The one stderr line of a refused run: `error: ...`, nothing before it. */
function assertRefused(
  r: { code: number; stderr: string },
  re: RegExp,
): void {
  assertEquals(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  // Nothing ran first: no plan line, no calibration, no sshd log.
  assertEquals(lines.length, 1, r.stderr);
  assertMatch(lines[0], /^error: /);
  assertMatch(lines[0], re);
}

// On sshd (the issue's case) and on the Go server (the default).
for (const impl of ["openssh", "go"] as const) {
  Deno.test(`input: a run whose sessions all failed exits 3 with a warning in meta.json; --max-failures 100 exits 0 (${impl} server)`, async () => {
    await allFailed(impl);
  });
}

async function allFailed(impl: "openssh" | "go"): Promise<void> {
  const out = await Deno.makeTempDir();
  try {
    const failing = [
      ...small("1..2"),
      "--command",
      "exit 3",
      "--server-impl",
      impl,
    ];
    const r = await bench([...failing, "--out", `${out}/a`]);
    assertEquals(r.code, 3, r.stderr);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assertEquals(errors.length, 1, r.stderr);
    assertMatch(errors[0], /more sessions failed than --max-failures 50%/);
    assertMatch(r.stdout, /warning: more sessions failed than --max-failures/);
    const sessions = parse<Record<string, string>>(
      await Deno.readTextFile(`${out}/a/sessions.csv`),
      { columns: true },
    );
    assert(sessions.length === 3 && sessions.every((s) => s.status !== "ok"));
    const meta = JSON.parse(await Deno.readTextFile(`${out}/a/meta.json`));
    assertEquals(meta.status, "complete");
    assertEquals(meta.parameters.server_impl, impl);
    assertEquals(meta.parameters.max_failures_pct, 50);
    const w = meta.warnings.filter((x: string) => /sessions failed/.test(x));
    assertEquals(w.length, 1, meta.warnings);
    assertMatch(w[0], /ssh2 3 of 3 \(100%; exit_nonzero 3\)/);

    // Allowed: exit 0, and most sessions failing is still a warning.
    const ok = await bench([
      ...failing,
      "--max-failures",
      "100",
      "--out",
      `${out}/b`,
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    const metaB = JSON.parse(await Deno.readTextFile(`${out}/b/meta.json`));
    assertEquals(metaB.parameters.max_failures_pct, 100);
    assert(
      metaB.warnings.some((x: string) =>
        /most sessions failed: ssh2 3 of 3 .*within --max-failures 100%/
          .test(x)
      ),
      metaB.warnings,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("input: the committed MaxStartups run (23.8% of paramiko's sessions failed) stays under the default --max-failures", () => {
  const meta = JSON.parse(
    Deno.readTextFileSync(
      new URL("../data/runs/sample-maxstartups/meta.json", import.meta.url),
    ),
  );
  assertEquals(meta.parameters.server_max_startups, "10:30:100");
  const steps = (meta.summary as SummaryRow[]).map((r) => ({
    client: r.client,
    sessions: r.sessions,
    ok: r.sessions - r.failed,
  }));
  const check = failureCheck(steps);
  const worst = Math.max(...check.clients.map((c) => c.pct));
  assertEquals(worst.toFixed(1), "23.8");
  assertEquals(check.over, false);
  assertEquals(check.warning, undefined);
  // The same counts against a threshold below them would exit 3.
  assertEquals(failureCheck(steps, 20).over, true);
});

Deno.test("input: an unusable --out is refused in one line before anything starts, and gains no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A plain file.
    await Deno.writeTextFile(`${dir}/file`, "mine\n");
    assertRefused(
      await bench([...small(), "--out", `${dir}/file`]),
      /--out .*\/file is a file, not a folder/,
    );
    assertRefused(
      await bench([...small(), "--out", `${dir}/file/run`]),
      /\/file is a file, so the folder cannot be made under it/,
    );
    assertEquals(await Deno.readTextFile(`${dir}/file`), "mine\n");

    // A folder that holds part of a run (only its meta.json).
    await Deno.mkdir(`${dir}/old`);
    await Deno.writeTextFile(`${dir}/old/meta.json`, "{}\n");
    assertRefused(
      await bench([...small(), "--out", `${dir}/old`]),
      /--out .*\/old already holds a run's files \(meta\.json\)/,
    );
    assertEquals(tree(`${dir}/old`), ["/meta.json"]);
    assertEquals(await Deno.readTextFile(`${dir}/old/meta.json`), "{}\n");

    // A read-only folder (a read-only mount, as root ignores modes), in a
    // mount namespace of the test's own.
    await Deno.mkdir(`${dir}/ro`);
    const ro = [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount -t tmpfs -o ro,size=64k tmpfs '${dir}/ro' && exec "$@"`,
      "sh",
    ];
    for (const out of [`${dir}/ro`, `${dir}/ro/run`]) {
      assertRefused(
        await bench([...small(), "--out", out], ro),
        /takes no new files \(a read-only file system\)/,
      );
    }
    assertEquals(tree(dir), ["/file", "/old/", "/old/meta.json", "/ro/"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("input: a pool the open-file limit cannot hold is refused in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The limit raised as far as the hard limit allows is still short.
    const r = await bench(
      [...small("100000"), "--out", `${dir}/run`],
      ["prlimit", "--nofile=20000:20000"],
    );
    assertRefused(
      r,
      /pool 100000 needs at least 100064 open files \(a socket per session\), but the open-file limit is 20000: .*ulimit -n 400256.*pools of at most 19936/,
    );
    const short = await bench(
      [...small("300"), "--out", `${dir}/run`],
      ["prlimit", "--nofile=256:256"],
    );
    assertRefused(short, /pool 300 needs at least 364 open files/);
    assertEquals(tree(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("input: an open-file limit that holds the pool but not comfortably is a warning in meta.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Hard limit 200: pool 30 fits (94 needed) but not comfortably (376).
    const r = await bench(
      [...small("30"), "--out", `${dir}/a`],
      ["prlimit", "--nofile=200:200"],
    );
    assertEquals(r.code, 0, r.stderr);
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/a/meta.json`));
    assert(
      meta.warnings.some((w: string) =>
        /^warning: the open-file limit is 200, below the 376 that pool 30 may need/
          .test(w)
      ),
      meta.warnings,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("input: a repeated value, a negative pool, a loss above 100 % and a --like on broken JSON are one line, exit 2, no folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/broken`);
    await Deno.writeTextFile(`${dir}/broken/meta.json`, '{"argv": [');
    const base = small();
    const cases: [string[], RegExp][] = [
      [
        [...base, "--clients", "ssh2,ssh2"],
        /^error: --clients ssh2,ssh2: ssh2 is named twice/,
      ],
      [[...base, "--pool", "3,1,3"], /^error: --pool 3,1,3: 3 is listed twice/],
      [
        [...base, "--pool", "-3"],
        /^error: --pool -3: each size must be at least 1/,
      ],
      [
        [...base, "--rtt", "20", "--loss", "150"],
        /^error: --loss 150: give a percentage from 0 to 100/,
      ],
      [
        [...base, "--rtt", "20", "--loss", "150%"],
        /^error: --loss 150%: give a percentage from 0 to 100/,
      ],
      [
        ["--like", `${dir}/broken`, "--no-charts"],
        /^error: --like .*\/broken: .*\/broken\/meta\.json is not valid JSON \(/,
      ],
    ];
    for (const [args, re] of cases) {
      assertRefused(await bench([...args, "--out", `${dir}/run`]), re);
    }
    assertEquals(tree(dir), ["/broken/", "/broken/meta.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
