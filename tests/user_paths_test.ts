/**
 * Every task that takes a path, run as a user would: `deno task ...` from
 * another folder, with relative paths. `deno task` runs the task in
 * deno.json's folder and passes the user's folder in INIT_CWD; the paths
 * must be the user's, not the project's (issue 23).
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { denoTask as task } from "./deno_task.ts";

const FIXTURES = new URL("./fixtures", import.meta.url).pathname;
const V1 = `${FIXTURES}/v1-run`;

/** Copies of the v1 fixture run under `root`, each its own run id. */
async function runCopies(root: string, names: string[]): Promise<void> {
  for (const name of names) {
    await Deno.mkdir(`${root}/${name}`);
    for (const f of ["sessions.csv", "rounds.csv"]) {
      await Deno.copyFile(`${V1}/${f}`, `${root}/${name}/${f}`);
    }
    const meta = JSON.parse(await Deno.readTextFile(`${V1}/meta.json`));
    meta.run_id = name;
    await Deno.writeTextFile(`${root}/${name}/meta.json`, JSON.stringify(meta));
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

Deno.test("user paths: charts, report, noise and compare take relative paths from the user's folder", async () => {
  const here = await Deno.makeTempDir({ prefix: "userpaths-" });
  try {
    await runCopies(here, ["r1", "r2", "r3"]);
    const charts = await task(here, ["charts", "r1/", "--out", "c"]);
    assertEquals(charts.code, 0, charts.stderr);
    assert(isFile(`${here}/c/scaling.png`), charts.stdout);

    const report = await task(here, ["report", "--out", "rep", "r1"]);
    assertEquals(report.code, 0, report.stderr);
    assert(isFile(`${here}/rep/report.html`), report.stdout);

    const noise = await task(here, [
      "noise",
      "--out",
      "n.json",
      "r1",
      "r2",
      "r3",
    ]);
    assertEquals(noise.code, 0, noise.stderr);
    assert(isFile(`${here}/n.json`), noise.stdout);

    // A,B pools two runs on one side; --noise-model is a file too.
    const compare = await task(here, [
      "compare",
      "--noise-model",
      "n.json",
      "r1",
      "r2,./r3",
    ]);
    assertEquals(compare.code, 0, compare.stderr);
    assertMatch(compare.stdout, /^noise model: .*n\.json/m);

    // A folder that is not there is still one line naming it, exit 2.
    const missing = await task(here, ["charts", "nope"]);
    assertEquals(missing.code, 2, missing.stderr);
    assertEquals(
      missing.stderr.trim(),
      `error: ${here}/nope is not a run folder; give a folder written by deno task bench (data/runs/...)`,
    );
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

Deno.test("user paths: from a folder inside the project, without --config", async () => {
  const out = await Deno.makeTempDir({ prefix: "userpaths-" });
  try {
    // `cd tests/fixtures && deno task charts v1-run`: deno task finds
    // deno.json above and runs in its folder, where v1-run is not.
    const r = await task(FIXTURES, ["charts", "v1-run", "--out", out], {}, {
      config: false,
    });
    assertEquals(r.code, 0, r.stderr);
    assert(isFile(`${out}/scaling.png`), r.stdout);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("user paths: bench --out, --like, --hosts, --identity and --known-hosts", async () => {
  const here = await Deno.makeTempDir({ prefix: "userpaths-" });
  try {
    const run = await task(here, [
      "bench",
      "--clients",
      "ssh2",
      "--pool",
      "1",
      "--step-seconds",
      "0",
      "--rounds",
      "1",
      "--no-charts",
      "--out",
      "run",
    ]);
    assertEquals(run.code, 0, run.stderr);
    assert(isFile(`${here}/run/sessions.csv`), run.stdout);

    // --like read the relative run: its flags came first, --pool 0 after.
    const like = await task(here, ["bench", "--like", "run", "--pool", "0"]);
    assertEquals(like.code, 2, like.stderr);
    assertMatch(like.stderr, /^error: --pool 0: .*must be at least 1/);

    // A fleet file, a key and a known_hosts file beside the user: all
    // three are found (each would otherwise be the error), so the first
    // complaint is the one about --rounds.
    await Deno.writeTextFile(`${here}/hosts.txt`, "ssh://me@127.0.0.1:22\n");
    await Deno.writeTextFile(`${here}/known_hosts`, "");
    const keygen = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${here}/key`],
      stdin: "null",
    }).output();
    assert(keygen.success);
    const fleet = await task(here, [
      "bench",
      "--hosts",
      "hosts.txt",
      "--identity",
      "key",
      "--known-hosts=known_hosts",
      "--command",
      "true",
      "--rounds",
      "0",
    ], { SSH_AUTH_SOCK: "" });
    assertEquals(fleet.code, 2, fleet.stderr);
    assertMatch(fleet.stderr, /^error: --rounds 0/);
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

Deno.test("user paths: notebooks on a folder that is not a run is one line, exit 2", async () => {
  const here = await Deno.makeTempDir({ prefix: "userpaths-" });
  try {
    for (
      const [args, env] of [
        [["notebooks", "nope"], {}],
        [["notebooks"], { RUN_DIR: "nope" }],
      ] as const
    ) {
      const r = await task(here, [...args], env);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(
        r.stderr.trim(),
        `error: ${here}/nope is not a run folder (no sessions.csv); give folders written by deno task bench, e.g. deno task notebooks data/runs/sample-seed`,
      );
    }
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});
