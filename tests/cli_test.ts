/**
 * The command line end to end: a real run's files, bad input, Ctrl-C.
 */
import { assert, assertEquals } from "./assert.ts";
import { ROUND_HEADER, SESSION_HEADER } from "../src/run/csv_sink.ts";
import { parse } from "csv-parse/sync";
import { EmbeddedServer } from "../src/server/embedded.ts";
import {
  assertNoNewDirs,
  benchCli,
  benchSshdPids,
  closedPort,
  serverDirs,
  strangerKey,
} from "./server_helpers.ts";

/** A CSV file's rows as records keyed by its header (quoted cells included). */
function rows(text: string): Record<string, string>[] {
  return parse<Record<string, string>>(text, { columns: true });
}

Deno.test("cli: a small run writes sessions.csv, rounds.csv and meta.json", async () => {
  const before = serverDirs();
  const out = await Deno.makeTempDir();
  try {
    const r = await benchCli([
      "--clients",
      "ssh2,libssh2,openssh",
      "--pool",
      "1..2",
      "--step-seconds",
      "0",
      "--rounds",
      "2",
      "--out",
      `${out}/run`,
      "--no-charts",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const sessions = await Deno.readTextFile(`${out}/run/sessions.csv`);
    assertEquals(sessions.split("\n")[0], SESSION_HEADER.join(","));
    const s = rows(sessions);
    assertEquals(s.length, 3 * 2 * (1 + 2));
    assert(s.every((x) => x.status === "ok"), sessions);
    assertEquals(new Set(s.map((x) => x.client)).size, 3);
    assertEquals(new Set(s.map((x) => x.run_id)).size, 1);
    const rounds = await Deno.readTextFile(`${out}/run/rounds.csv`);
    assertEquals(rounds.split("\n")[0], ROUND_HEADER.join(","));
    const rr = rows(rounds);
    assertEquals(rr.length, 3 * 2 * 2);
    assert(
      rr.every((x) => x.server_cpu_ms !== "" && Number(x.client_rss_mb) > 0),
    );
    const meta = JSON.parse(await Deno.readTextFile(`${out}/run/meta.json`));
    assertEquals(meta.status, "complete");
    assertEquals(meta.run_id, s[0].run_id);
    assertEquals(meta.parameters.clients, ["ssh2", "libssh2", "openssh"]);
    assertEquals(meta.target.kind, "embedded");
    assertEquals(meta.machine.cores, navigator.hardwareConcurrency);
    // The default embedded server is the Go one, recorded with its version.
    assertEquals(meta.parameters.server_impl, "go");
    assertEquals(meta.versions.openssh_server, null);
    assert(meta.versions.server.startsWith("Go x/crypto/ssh "));
    assertEquals(Object.keys(meta.calibration.clients).sort(), [
      "libssh2",
      "openssh",
      "ssh2",
    ]);
    assert(meta.calibration.clients.openssh.spawn_median_ms > 0);
    assertEquals(meta.summary.length, 6);
    assert(!JSON.stringify(meta).includes("PRIVATE KEY"));
    assert(r.stdout.includes("median ms"), r.stdout);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
});

Deno.test("cli: bad input is one line on stderr and exit code 2", async () => {
  const key = await strangerKey();
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  try {
    const cases: [string[], RegExp][] = [
      [["--pool", "0"], /--pool 0: .*must be at least 1/],
      [["--bogus"], /unknown option --bogus/],
      [
        ["--clients", "putty"],
        /unknown client "putty"; use one or more of: .*asyncssh, xcrypto \(test clients: ssh2-nagle, null\)$/m,
      ],
      [[
        "--target",
        `ssh://me@127.0.0.1:${closedPort()}`,
        "--identity",
        key.key,
        "--command",
        "true",
        "--clients",
        "ssh2",
      ], /cannot connect to me@127\.0\.0\.1/],
      [[
        "--target",
        `ssh://${server.target.user}@127.0.0.1:${server.target.port}`,
        "--known-hosts",
        server.target.knownHostsFile!,
        "--identity",
        key.key,
        "--command",
        "true",
        "--clients",
        "libssh2",
      ], /refused the key/],
      [[
        "--target",
        "ssh://me@h",
        "--identity",
        "/no/such/key",
        "--command",
        "x",
      ], /no such file/],
    ];
    for (const [args, re] of cases) {
      const r = await benchCli([...args, "--out", `${key.dir}/never`]);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const errLines = r.stderr.split("\n").filter((l) =>
        l.startsWith("error:")
      );
      assertEquals(errLines.length, 1, r.stderr);
      assert(re.test(errLines[0]), errLines[0]);
      assert(!/\n\s+at /.test(r.stderr), `stack trace: ${r.stderr}`);
    }
  } finally {
    await server.stop();
    await Deno.remove(key.dir, { recursive: true });
  }
});

Deno.test("cli: SIGINT mid-run flushes files, marks meta interrupted, exits 130", async () => {
  const before = serverDirs();
  const out = await Deno.makeTempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../src/cli/bench.ts", import.meta.url).pathname,
        "--clients",
        "ssh2",
        "--pool",
        "1..200",
        "--step-seconds",
        "0.3",
        "--out",
        `${out}/run`,
        "--no-charts",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait until some rounds are on disk, then interrupt.
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const text = await Deno.readTextFile(`${out}/run/rounds.csv`).catch(() =>
        ""
      );
      if (text.split("\n").length > 5) break;
    }
    child.kill("SIGINT");
    const status = await child.output();
    assertEquals(status.code, 130, new TextDecoder().decode(status.stderr));
    const meta = JSON.parse(await Deno.readTextFile(`${out}/run/meta.json`));
    assertEquals(meta.status, "interrupted");
    const sessions = await Deno.readTextFile(`${out}/run/sessions.csv`);
    assert(sessions.endsWith("\n"));
    const s = rows(sessions);
    assert(s.length > 0 && s.every((x) => x.status === "ok"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
});

Deno.test("cli: --target runs against an existing server (no server CPU)", async () => {
  const server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
  const out = await Deno.makeTempDir();
  try {
    const t = server.target;
    const r = await benchCli([
      "--target",
      `ssh://${t.user}@${t.host}:${t.port}`,
      "--known-hosts",
      t.knownHostsFile!,
      "--identity",
      t.identityFile,
      "--command",
      `cat ${server.payloadPath}`,
      "--clients",
      "ssh2,libssh2",
      "--pool",
      "1,2",
      "--rounds",
      "1",
      "--step-seconds",
      "0",
      "--out",
      `${out}/run`,
      "--no-charts",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const s = rows(await Deno.readTextFile(`${out}/run/sessions.csv`));
    assertEquals(s.length, 2 * 3);
    assert(s.every((x) => x.status === "ok" && x.bytes === "100"));
    const rr = rows(await Deno.readTextFile(`${out}/run/rounds.csv`));
    assert(rr.every((x) => x.server_cpu_ms === ""));
    const meta = JSON.parse(await Deno.readTextFile(`${out}/run/meta.json`));
    assertEquals(meta.target.kind, "external");
    assertEquals(meta.target.sshd_config, null);
  } finally {
    await server.stop();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: deno task charts on a missing folder is one line, exit 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../src/cli/charts.ts", import.meta.url).pathname,
      "/no/such/run",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  assertEquals(out.code, 2, err);
  assertEquals(err.split("\n").length, 1);
  assert(err.startsWith("error: /no/such/run is not a run folder"), err);
});
