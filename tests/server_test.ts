/** The embedded server's configuration and account, against the real sshd. */
import { assert, assertEquals } from "./assert.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import {
  type AccountFacts,
  accountProblem,
  BENCH_USER,
  loginUser,
  RC_FILES,
} from "../src/server/account.ts";
import { run } from "../src/util/proc.ts";
import { assertNoNewDirs, serverDirs } from "./server_helpers.ts";

Deno.test("server: MaxStartups sized from the pool, or passed through unchanged", async () => {
  const before = serverDirs();
  const sized = await EmbeddedServer.start({ maxPool: 300, payloadBytes: 10 });
  const dir = sized.dir;
  try {
    assert(sized.config.includes("\nMaxStartups 610\n"), sized.config);
    assert(sized.config.includes("ListenAddress 127.0.0.1"));
    // Every setting belongs to a block that opens with a comment saying why.
    const lines = sized.config.split("\n");
    for (const [i, l] of lines.entries()) {
      if (l === "" || l.startsWith("#")) continue;
      let j = i - 1;
      while (j >= 0 && lines[j] !== "" && !lines[j].startsWith("#")) j--;
      assert(j >= 0 && lines[j].startsWith("#"), `uncommented: ${l}`);
    }
    const t = await run("/usr/sbin/sshd", ["-t", "-f", `${dir}/sshd_config`]);
    assertEquals(t.code, 0, t.stderr);
    assertEquals(sized.target.host, "127.0.0.1");
    assert(sized.target.port > 0);
  } finally {
    await sized.stop();
  }
  const given = await EmbeddedServer.start({
    maxPool: 300,
    payloadBytes: 10,
    maxStartups: "10:30:100",
  });
  try {
    assert(given.config.includes("\nMaxStartups 10:30:100\n"));
  } finally {
    await given.stop();
  }
  assertNoNewDirs(before);
});

Deno.test({
  name: "server: as root, the login account has /bin/sh, '*' and no rc files",
  ignore: Deno.uid() !== 0,
}, async () => {
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 10 });
  try {
    const pw = (await run("getent", ["passwd", BENCH_USER])).stdout.split(":");
    assertEquals(pw[6].trim(), "/bin/sh");
    const sh = (await run("getent", ["shadow", BENCH_USER])).stdout.split(":");
    assertEquals(sh[1], "*");
    for (const rc of RC_FILES) {
      let exists = true;
      try {
        await Deno.stat(`${pw[5]}/${rc}`);
      } catch {
        exists = false;
      }
      assertEquals(exists, false, rc);
    }
    assertEquals(server.target.user, BENCH_USER);
  } finally {
    await server.stop();
  }
});

Deno.test("server: an unusable login account is one line naming .ci/setup", () => {
  const good: AccountFacts = {
    passwd: `${BENCH_USER}:x:999:995::/var/lib/ssh-bench:/bin/sh\n`,
    password: "*",
    homeExists: true,
    rcFiles: [],
  };
  assertEquals(accountProblem(good), undefined);
  // A password hash or an empty field does not lock the account.
  assertEquals(accountProblem({ ...good, password: "$y$j9T$x" }), undefined);
  assertEquals(accountProblem({ ...good, password: undefined }), undefined);
  const cases: [Partial<AccountFacts>, RegExp][] = [
    [{ passwd: undefined }, /does not exist: create it with \.ci\/setup/],
    [
      { passwd: good.passwd!.replace("/bin/sh", "/bin/bash") },
      /shell \/bin\/bash, not \/bin\/sh/,
    ],
    [{ password: "!" }, /is locked \(password field "!"\)/],
    [{ password: "!*" }, /is locked/],
    [{ homeExists: false }, /no home directory \/var\/lib\/ssh-bench/],
    [
      { rcFiles: [".profile", ".bashrc"] },
      /rc files in \/var\/lib\/ssh-bench \(\.profile, \.bashrc\)/,
    ],
  ];
  for (const [change, want] of cases) {
    const msg = accountProblem({ ...good, ...change });
    assert(
      msg !== undefined && want.test(msg),
      `${JSON.stringify(change)}: ${msg}`,
    );
    assert(!msg.includes("\n"), msg);
    assert(msg.includes(".ci/setup"), msg);
  }
});

Deno.test("server: the login account is checked, not changed", async () => {
  const facts = async () =>
    Deno.uid() === 0
      ? [
        (await run("getent", ["passwd", BENCH_USER])).stdout,
        (await run("getent", ["shadow", BENCH_USER])).stdout,
      ]
      : [];
  const before = await facts();
  const user = await loginUser();
  assertEquals(
    user,
    Deno.uid() === 0 ? BENCH_USER : (await run("id", ["-un"])).stdout.trim(),
  );
  assertEquals(await facts(), before);
});
