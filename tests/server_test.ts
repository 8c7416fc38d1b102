/** The embedded server's configuration and account, against the real sshd. */
import { assert, assertEquals } from "./assert.ts";
import { BENCH_USER, EmbeddedServer } from "../src/server/embedded.ts";
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
    for (const rc of [".profile", ".bashrc"]) {
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
