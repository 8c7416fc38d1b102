import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { parseBenchArgs } from "../src/cli/bench_args.ts";
import { UsageError } from "../src/util/errors.ts";
import { countSteps, getPreset, PRESETS } from "../src/run/presets.ts";
import { chooseBest } from "../src/run/stages.ts";

function cfg(args: string[]) {
  const c = parseBenchArgs(args);
  if (c === "help") throw new Error("help");
  return c;
}

Deno.test("args: defaults come from the seed preset", () => {
  const c = cfg([]);
  assertEquals(c.preset, "seed");
  assertEquals(c.stages, PRESETS.seed.stages);
  assertEquals(c.stepSeconds, 5);
  assertEquals(c.timeoutMs, 60_000);
  assertEquals(c.clients, undefined);
  assertEquals(c.charts, true);
});

Deno.test("args: --pool replaces the preset's stages with one stage", () => {
  const c = cfg([
    "--preset",
    "quick",
    "--clients",
    "ssh2",
    "--pool",
    "1..3",
    "--step-seconds",
    "0.5",
    "--rounds",
    "2",
    "--timeout",
    "5",
  ]);
  assertEquals(c.stages, [{ pools: [1, 2, 3], clients: "all" }]);
  assertEquals(c.clients, ["ssh2"]);
  assertEquals(c.stepSeconds, 0.5);
  assertEquals(c.minRounds, 2);
  assertEquals(c.timeoutMs, 5000);
});

Deno.test("args: --help", () => {
  assertEquals(parseBenchArgs(["--help"]), "help");
  assertEquals(parseBenchArgs(["-h"]), "help");
});

Deno.test("args: --target with identity and command", () => {
  const key = fakeKey();
  try {
    const c = cfg([
      "--target",
      "ssh://me@host.example:2222",
      "--identity",
      key,
      "--command",
      "cat /etc/services",
    ]);
    assertEquals(c.targets?.[0], {
      host: "host.example",
      port: 2222,
      user: "me",
      identity: key,
    });
    assertEquals(c.command, "cat /etc/services");
  } finally {
    Deno.removeSync(key);
  }
});

Deno.test("args: --known-hosts and --accept-new-host-keys go with --target", () => {
  const key = fakeKey();
  const known = Deno.makeTempFileSync();
  const target = [
    "--target",
    "ssh://me@host.example:2222",
    "--identity",
    key,
    "--command",
    "true",
  ];
  try {
    const d = cfg(target);
    assertEquals([d.knownHostsFile, d.acceptNewHostKeys], [undefined, false]);
    const c = cfg([
      ...target,
      "--known-hosts",
      known,
      "--accept-new-host-keys",
    ]);
    assertEquals([c.knownHostsFile, c.acceptNewHostKeys], [known, true]);
    assert(c.argv?.includes("--accept-new-host-keys"));
    assertThrows(
      () => parseBenchArgs([...target, "--known-hosts", "/nonexistent/kh"]),
      /--known-hosts \/nonexistent\/kh: no such file/,
    );
    assertEquals(cfg([]).acceptNewHostKeys, false);
  } finally {
    Deno.removeSync(key);
    Deno.removeSync(known);
  }
});

Deno.test("args: bad input is one line naming the fix", () => {
  const cases: [string[], string][] = [
    [["--bogus"], "unknown option --bogus"],
    [["--pool", "0"], "at least 1"],
    [["--pool"], "--pool"],
    [["stray"], "unexpected argument"],
    [["--preset", "nope"], "use one of: seed, quick"],
    [
      ["--clients", ""],
      "--clients is empty; name one or more of ssh2, libssh2, openssh, paramiko, asyncssh, xcrypto",
    ],
    [["--step-seconds", "abc"], "--step-seconds abc"],
    [["--rounds", "0"], "--rounds 0"],
    [["--rounds", "1.5"], "whole number"],
    [["--timeout", "0"], "--timeout 0"],
    [["--payload-bytes", "-1"], "--payload-bytes"],
    [["--target", "http://x"], "ssh://user@host:port"],
    [["--target", "ssh://me@127.0.0.1:22"], "needs --identity"],
    [[
      "--target",
      "ssh://me@127.0.0.1:22",
      "--identity",
      "/nonexistent/key",
    ], "no such file"],
    [["--identity", "/x"], "only used with --target"],
    [["--known-hosts", "/x"], "--known-hosts is only used with --target"],
    [["--accept-new-host-keys"], "--accept-new-host-keys is only used with"],
    [["--server-max-startups", "lots"], "start:rate:full"],
    [["--name", "a/b"], "folder name"],
    [["--server-profile", "fast"], "use lean or stock"],
    [["--kex", ""], "--kex '': give one or more algorithm names"],
    [["--ciphers", ","], "--ciphers ,: give one or more"],
    [["--macs", "+hmac-sha1"], "--macs +hmac-sha1: give"],
    [["--host-key-algorithms", "ssh ed25519"], "HostKeyAlgorithms lists"],
    [["--kex"], "--kex"],
  ];
  for (const [args, needle] of cases) {
    assertThrows(
      () => parseBenchArgs(args),
      (e: unknown) => {
        assert(e instanceof UsageError, `${args}: ${e}`);
        assert(e.message.includes(needle), `${args}: ${e.message}`);
        assert(!e.message.includes("\n"), `${args}: multi-line message`);
        assertEquals(e.exitCode, 2);
        return true;
      },
    );
  }
});

Deno.test("args: algorithm pins and the server profile", () => {
  const d = cfg([]);
  assertEquals(d.algorithms, undefined);
  assertEquals(d.serverProfile, "lean");
  const c = cfg([
    "--kex",
    "curve25519-sha256,sntrup761x25519-sha512@openssh.com",
    "--ciphers",
    " aes128-ctr ",
    "--macs",
    "hmac-sha2-256,hmac-sha2-512-etm@openssh.com",
    "--host-key-algorithms",
    "ssh-ed25519",
    "--server-profile",
    "stock",
  ]);
  assertEquals(c.algorithms, {
    kex: ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com"],
    ciphers: ["aes128-ctr"],
    macs: ["hmac-sha2-256", "hmac-sha2-512-etm@openssh.com"],
    hostKeyAlgorithms: ["ssh-ed25519"],
  });
  assertEquals(c.serverProfile, "stock");
  assertEquals(cfg(["--ciphers", "aes128-ctr"]).algorithms, {
    ciphers: ["aes128-ctr"],
  });
  const key = fakeKey();
  try {
    const t = cfg([
      "--target",
      "ssh://me@127.0.0.1:22",
      "--identity",
      key,
      "--command",
      "true",
      "--macs",
      "hmac-sha2-256",
    ]);
    // Pins apply to the clients with a target too; the profile does not.
    assertEquals(t.algorithms, { macs: ["hmac-sha2-256"] });
    assertEquals(t.serverProfile, undefined);
    assertThrows(
      () =>
        parseBenchArgs([
          "--target",
          "ssh://me@127.0.0.1:22",
          "--identity",
          key,
          "--command",
          "true",
          "--server-profile",
          "lean",
        ]),
      /--server-profile applies to the embedded server only; drop it or drop --target$/,
    );
  } finally {
    Deno.removeSync(key);
  }
});

Deno.test("presets: seed and quick expand as documented", () => {
  const seed = getPreset("seed");
  assertEquals(
    seed.stages[0].pools,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  assertEquals(seed.stages[0].clients, "all");
  assertEquals(seed.stages[1].pools, [
    35,
    40,
    45,
    50,
    55,
    60,
    65,
    70,
    75,
    80,
    85,
    90,
    95,
    100,
  ]);
  assertEquals(seed.stages[1].clients, "best");
  assertEquals(seed.minRounds, 4);
  // 5 clients x 30 pools + two best clients (a tie) at 14 more: 178 steps
  // of 5 s, under the 25 minutes the default run may take.
  assertEquals(countSteps(seed.stages, 5), 164);
  assert((150 + 2 * 14) * seed.stepSeconds <= 25 * 60);
  const quick = getPreset("quick");
  assert(countSteps(quick.stages, 5) * quick.stepSeconds <= 70);
});

Deno.test("stages: the best client is chosen by the change rule, at the last pool only", () => {
  const r = (client: string, pool: number, rounds: number[][]) => ({
    client,
    pool,
    okTotals: rounds.flat(),
    okRounds: rounds.map((x) => x.map((total_ms) => ({ total_ms }))),
  });
  const six = (v: number) => [[v], [v + 1], [v + 2], [v + 3], [v + 4], [v + 5]];
  const clear = chooseBest([
    r("ssh2", 1, [[1]]), // fastest at pool 1 does not count
    r("libssh2", 1, [[50]]),
    r("ssh2", 30, six(300)),
    r("libssh2", 30, six(250)),
    r("openssh", 30, []), // every session failed: not a candidate
  ] as never);
  assertEquals(clear.names, ["libssh2"]);
  const tie = chooseBest(
    [r("ssh2", 30, six(250)), r("libssh2", 30, six(251))] as never,
  );
  assertEquals(tie.names, ["ssh2", "libssh2"]);
  assert(tie.note.includes("not told apart"), tie.note);
  assertEquals(chooseBest([r("ssh2", 30, [])] as never).names, []);
  assertEquals(chooseBest([]).names, []);
});

Deno.test("args: re-execute, order, precision, in-process, custom name", () => {
  const c = cfg([
    "--pool",
    "1,8",
    "--commands-per-session",
    "3",
    "--order",
    "sequential",
    "--precision",
    "5%",
    "--in-process",
  ]);
  assertEquals(
    [c.commandsPerSession, c.order, c.precision, c.inProcess],
    [3, "sequential", 0.05, true],
  );
  assertEquals([c.preset, c.name], ["custom", "custom"]);
  assertEquals(cfg([]).order, "interleaved");
  assertEquals(cfg(["--preset", "quick", "--pool", "1"]).name, "quick");
  for (
    const [args, msg] of [
      [
        ["--commands-per-session", "0"],
        /--commands-per-session 0: expected a whole number >= 1/,
      ],
      [["--order", "random"], /--order random: use interleaved or sequential/],
      [
        ["--precision", "5"],
        /--precision 5: give a percentage .* e.g. --precision 5%/,
      ],
    ] as const
  ) assertThrows(() => parseBenchArgs([...args]), msg);
});

Deno.test("args: --like repeats a run's recorded arguments, flags given override them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({
        schema_version: 5,
        argv: [
          "--clients",
          "ssh2",
          "--pool",
          "1,8",
          "--step-seconds",
          "5",
          "--out",
          "/x",
        ],
      }),
    );
    const c = cfg(["--like", dir, "--step-seconds", "1"]);
    assertEquals(c.clients, ["ssh2"]);
    assertEquals(c.stages[0].pools, [1, 8]);
    assertEquals(c.stepSeconds, 1);
    assertEquals(c.out, undefined); // a repeat writes a folder of its own
    assertEquals(c.argv, [
      "--clients",
      "ssh2",
      "--pool",
      "1,8",
      "--step-seconds",
      "5",
      // A run recorded before --server-impl embedded openssh.
      "--server-impl",
      "openssh",
      "--step-seconds",
      "1",
    ]);
    assertThrows(
      () => parseBenchArgs(["--like", "/nonexistent"]),
      /--like \/nonexistent: no meta.json there/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A file that passes --identity's checks (a private key's first line, 0600). */
function fakeKey(): string {
  const key = Deno.makeTempFileSync();
  Deno.writeTextFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  Deno.chmodSync(key, 0o600);
  return key;
}

/** The one line `parseBenchArgs(args)` refuses with (exit 2). */
function refusal(args: string[]): string {
  try {
    parseBenchArgs(args);
  } catch (e) {
    assert(e instanceof UsageError, `${args.join(" ")}: ${e}`);
    assertEquals(e.exitCode, 2);
    assert(!e.message.includes("\n"), `${args.join(" ")}: ${e.message}`);
    return e.message;
  }
  throw new Error(`${args.join(" ")} was accepted`);
}

Deno.test("args: a client, pool size or RTT given twice is refused, naming it", () => {
  assertEquals(
    refusal(["--clients", "ssh2,libssh2,ssh2"]),
    "--clients ssh2,libssh2,ssh2: ssh2 is named twice; name each client once (its rows could not be told apart)",
  );
  assertEquals(
    refusal(["--pool", "3,1,3"]),
    "--pool 3,1,3: 3 is listed twice; give each pool size once (its rows could not be told apart)",
  );
  assertMatch(refusal(["--rtt", "0,25,0"]), /^--rtt 0,25,0: 0 is listed twice/);
  // Distinct values stay accepted, in the order given.
  assertEquals(cfg(["--pool", "3,1,10"]).stages[0].pools, [3, 1, 10]);
  assertEquals(cfg(["--clients", "ssh2,libssh2"]).clients, ["ssh2", "libssh2"]);
});

Deno.test("args: a value that starts with '-' gets the flag's own message", () => {
  assertEquals(
    refusal(["--pool", "-3"]),
    "--pool -3: each size must be at least 1 (a pool is a number of sessions started together); use e.g. --pool 1..30",
  );
  assertMatch(
    refusal(["--timeout", "-1"]),
    /^--timeout -1: expected a number >= 0\.001$/,
  );
  assertMatch(
    refusal(["--rtt", "-5"]),
    /^--rtt -5: give round-trip times in ms from 0 to 10000/,
  );
  assertMatch(
    refusal(["--pool", "--clients", "ssh2"]),
    /^--pool needs a value, but --clients follows it/,
  );
  assertMatch(
    refusal(["--command", "-la"]),
    /^--command -la: a value that starts with '-' is written --command=-la/,
  );
  assertMatch(
    refusal(["--pool"]),
    /^--pool needs a value; see deno task bench --help$/,
  );
  for (
    const args of [["--pool", "-3"], ["--timeout", "-1"], [
      "--pool",
      "--clients",
      "x",
    ]]
  ) {
    assert(!/ambiguous/.test(refusal(args)), args.join(" "));
  }
});

Deno.test("args: --loss is a percentage from 0 to 100", () => {
  for (const v of ["150", "150%", "100.5", "-1", "lots", ""]) {
    assertEquals(
      refusal(["--rtt", "20", "--loss", v]),
      `--loss ${v}: give a percentage from 0 to 100, e.g. --loss 1`,
    );
  }
  assertEquals(cfg(["--rtt", "20", "--loss", "1.5"]).lossPct, 1.5);
  assertEquals(cfg(["--rtt", "20", "--loss", "0.5%"]).lossPct, 0.5);
  assertEquals(cfg(["--rtt", "20", "--loss", "100"]).lossPct, 100);
  assertEquals(cfg(["--server-rtt", "0,20", "--loss", "2%"]).lossPct, 2);
  assertMatch(
    refusal(["--server-rtt", "0,20", "--loss", "101"]),
    /from 0 to 100/,
  );
});

Deno.test("args: --max-failures is a percentage (default 50), kept by --like", async () => {
  assertEquals(cfg([]).maxFailuresPct, 50);
  assertEquals(cfg(["--max-failures", "100"]).maxFailuresPct, 100);
  assertEquals(cfg(["--max-failures", "12.5%"]).maxFailuresPct, 12.5);
  assertEquals(cfg(["--max-failures", "0"]).maxFailuresPct, 0);
  assertMatch(
    refusal(["--max-failures", "101"]),
    /^--max-failures 101: give a percentage from 0 to 100/,
  );
  assertMatch(
    refusal(["--max-failures", "-1"]),
    /^--max-failures -1: give a percentage from 0 to 100/,
  );
  // The committed MaxStartups run repeats with the default threshold.
  const like = cfg(["--like", "data/runs/sample-maxstartups", "--no-charts"]);
  assertEquals([like.serverMaxStartups, like.maxFailuresPct], [
    "10:30:100",
    50,
  ]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({
        schema_version: 9,
        argv: ["--pool", "1", "--max-failures", "5"],
      }),
    );
    assertEquals(cfg(["--like", dir]).maxFailuresPct, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("args: --like on a meta.json that is not valid JSON says so, and where", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/meta.json`, '{"argv": ["--pool", "1"],');
    const msg = refusal(["--like", dir]);
    assert(
      msg.startsWith(`--like ${dir}: ${dir}/meta.json is not valid JSON (`),
      msg,
    );
    assert(!/no meta\.json there/.test(msg), msg);
    await Deno.writeTextFile(`${dir}/meta.json`, "[1, 2]");
    assertMatch(refusal(["--like", dir]), /meta\.json is not a run record/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
