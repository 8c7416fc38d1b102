/**
 * Host entries never become options: hostile hosts and users (a leading
 * `-`, option names, spaces, quotes, `${IFS}`, `%`-escapes) are refused in
 * one line where a target is parsed (`--target`, `--hosts`), and, fed
 * straight to every client and to the host-key scan (bypassing the
 * parser), run no local command. The marker file a successful injection
 * would create is looked for after each case.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseBenchArgs } from "../src/cli/bench_args.ts";
import { CLIENT_NAMES, loadRunners } from "../src/clients/mod.ts";
import { scanHostKeys } from "../src/run/known_hosts.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { UsageError } from "../src/util/errors.ts";
import type { Target } from "../src/clients/seam.ts";
import { benchCli, closedPort } from "./server_helpers.ts";
import {
  fuzzHosts,
  hostileHosts,
  hostileUser,
  MARK,
  markers,
} from "./hostile.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** The UsageError `f` throws (fails the test when it throws none). */
function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    assert(e instanceof UsageError, String(e));
    return e;
  }
  throw new Error("accepted; expected a UsageError");
}

Deno.test("hostile hosts: --target and --hosts refuse each in one line", async () => {
  const entries = [
    // The reported one.
    "ssh://ssh-bench@-oProxyCommand=touch${IFS}PWNED:2299",
    ...hostileHosts("p").map((h) => `ssh://me@${encodeURI(h)}:22`),
    "ssh://me@-h:22",
    "ssh://me@host%20-oX:22",
    "ssh://me@ho'st:22",
    "ssh://me@300.1.2.3:22",
    "ssh://-oProxyCommand=x@host:22",
    "ssh://-l@host:22",
    "ssh://me%20-oX@host:22",
    "ssh://me%ZZ@host:22",
    "ssh://%25u@host:22",
    "ssh://$(touch${IFS}x)@host:22",
    "ssh://me@host:0",
    // Generated: 150 hosts and 50 users, each an option in disguise.
    ...fuzzHosts("ph", 150).map((h) => `ssh://me@${h}:22`),
    ...fuzzHosts("pu", 50).map((u) => `ssh://${u}@host:22`),
  ];
  const dir = await Deno.makeTempDir();
  try {
    const key = `${dir}/k`;
    await Deno.writeTextFile(key, "-----BEGIN OPENSSH PRIVATE KEY-----\n", {
      mode: 0o600,
    });
    for (const url of entries) {
      const e = usageError(() =>
        parseBenchArgs([
          "--target",
          url,
          "--identity",
          key,
          "--command",
          "true",
        ])
      );
      assert(!e.message.includes("\n"), e.message);
      assert(e.message.startsWith(`--target ${url}: `), e.message);
      // Through a hosts file: the entry's file and line are named.
      const file = `${dir}/hosts.txt`;
      await Deno.writeTextFile(
        file,
        `# fleet\nssh://me@127.0.0.1:22\n${url}\n`,
      );
      const f = usageError(() =>
        parseBenchArgs([
          "--hosts",
          file,
          "--identity",
          key,
          "--command",
          "true",
        ])
      );
      assert(f.message.startsWith(`${file}:3: `), f.message);
    }
    // Plain names and addresses still pass.
    for (
      const url of [
        "ssh://me@db-1.example.com:22",
        "ssh://first.last@10.0.0.7:2222",
        "ssh://me@[::1]:22",
        "ssh://svc_1@host_a",
      ]
    ) {
      const cfg = parseBenchArgs([
        "--target",
        url,
        "--identity",
        key,
        "--command",
        "true",
      ]);
      assert(cfg !== "help" && cfg.targets?.length === 1, url);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "hostile hosts: the reported hosts-file line exits 2 and runs nothing, with a real fleet beside it",
  ...opts,
}, async () => {
  const server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
  const dir = await Deno.makeTempDir();
  try {
    const t = server.target;
    const file = `${dir}/hosts.txt`;
    await Deno.writeTextFile(
      file,
      `ssh://${t.user}@${t.host}:${t.port}\nssh://ssh-bench@-oProxyCommand=touch\${IFS}${MARK}-cli:${t.port}\n`,
    );
    const r = await benchCli(
      [
        "--hosts",
        file,
        "--identity",
        t.identityFile,
        "--known-hosts",
        t.knownHostsFile!,
        "--command",
        "true",
        "--clients",
        "openssh",
        "--pool",
        "2",
        "--rounds",
        "1",
        "--step-seconds",
        "0",
        "--no-charts",
        "--out",
        `${dir}/run`,
      ],
      {},
      { cwd: dir },
    );
    assertEquals(markers([dir, Deno.cwd()]), []);
    assertEquals(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    assert(lines[0].startsWith(`error: ${file}:2: host `), lines[0]);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "hostile hosts: straight to every client and the host-key scan, no local command runs",
  ...opts,
}, async (t) => {
  const server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
  const runners = await loadRunners(CLIENT_NAMES, () => {}, {
    stderr: () => () => {},
  });
  const dirs = [Deno.cwd()];
  try {
    assertEquals(runners.map((r) => r.name), [...CLIENT_NAMES]);
    for (const runner of runners) {
      await t.step(runner.name, async () => {
        const base = server.target;
        const hosts = [
          ...hostileHosts(runner.name),
          ...fuzzHosts(runner.name, 12),
        ];
        const targets: Target[] = hosts.map((host) => ({
          ...base,
          host,
          port: closedPort(),
          // A command that is also a valid host name: were the host read
          // as an option, ssh would take this as the host and connect.
          command: "true",
        }));
        // The user goes to `ssh -l`; hostile ones are an option's value.
        targets.push({
          ...base,
          user: hostileUser(runner.name),
        });
        // K = 2 goes through openssh's connection master and mux clients.
        for (const k of [1, 2]) {
          const round = await runner.runRound({
            round: k,
            sessions: targets.length,
            target: targets[0],
            targets,
            commandsPerSession: k,
            timeoutMs: 10_000,
          });
          assert(round !== undefined);
          assertEquals(round.sessions.length, targets.length);
          for (const s of round.sessions) {
            assert(
              s.status !== "ok",
              `${runner.name}: a hostile host answered`,
            );
          }
          assertEquals(markers(dirs), [], `${runner.name}, K = ${k}`);
        }
      });
    }
    await t.step("ssh-keyscan", async () => {
      for (const host of [...hostileHosts("scan"), ...fuzzHosts("scan", 12)]) {
        const r = await scanHostKeys(host, server.target.port, 2);
        assertEquals(r.keys, [], host);
        assertEquals(markers(dirs), [], host);
      }
      // `-f/dev/stdin` read as an option would read the hosts from stdin;
      // as a host it is looked up, and not found.
      const r = await scanHostKeys("-f/dev/stdin", server.target.port, 2);
      assert(r.error?.includes("-f/dev/stdin"), r.error);
    });
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
  }
});
