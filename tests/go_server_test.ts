/**
 * The embedded Go server (`--server-impl go`) against real clients: every
 * client's sessions are ok; it refuses a key other than the run's, another
 * user, a pty, a shell, a subsystem, and forwarding of either
 * direction; it listens on its address only, runs as the benchmark account
 * (as root), serves several commands per connection, and dies with a
 * killed run; killed itself, the round in flight's rows fail naming it.
 * Bad flag combinations (`--server-impl` with `--target` among them) and a
 * binary that cannot be built without `go` are one error line, exit 2.
 */
import { Buffer } from "node:buffer";
import { parse } from "csv-parse/sync";
import { Client } from "ssh2";
import { assert, assertEquals } from "./assert.ts";
import { GoServer, pinProblem } from "../src/server/go_server.ts";
import { BENCH_USER } from "../src/server/embedded.ts";
import { CLIENT_NAMES, loadRunners } from "../src/clients/mod.ts";
import { pidAlive, which } from "../src/util/proc.ts";
import { ROOT_DIR } from "../src/util/paths.ts";
import { benchCli, strangerKey, waitForRounds } from "./server_helpers.ts";
import { BenchChild } from "./bench_child.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** An ssh2 connection to the server with `key` as `user`, or its error. */
function connect(
  server: GoServer,
  o: { user?: string; key?: string } = {},
): Promise<Client> {
  const t = server.target;
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on("ready", () => resolve(c)).on("error", reject).connect({
      host: t.host,
      port: t.port,
      username: o.user ?? t.user,
      privateKey: Buffer.from(Deno.readFileSync(o.key ?? t.identityFile)),
      hostVerifier: (key: Buffer) => key.toString("base64") === t.hostKeyBase64,
      readyTimeout: 10_000,
    });
  });
}

/** Runs `f` with a callback and resolves with its error (or undefined). */
function outcome(
  f: (cb: (err: Error | undefined, x?: unknown) => void) => void,
): Promise<Error | undefined> {
  return new Promise((resolve) => f((err) => resolve(err ?? undefined)));
}

Deno.test({
  name: "go server: every client's sessions are ok, K = 1 and 3",
  ...opts,
}, async () => {
  const server = await GoServer.start({ maxPool: 4, payloadBytes: 26_000 });
  const runners = await loadRunners(CLIENT_NAMES, () => {}, {
    stderr: () => () => {},
  });
  try {
    for (const runner of runners) {
      for (const k of [1, 3]) {
        const r = await runner.runRound({
          round: k,
          sessions: 4,
          target: server.target,
          commandsPerSession: k,
          timeoutMs: 20_000,
        });
        assert(r !== undefined);
        for (const s of r.sessions) {
          assertEquals(
            [s.status, s.bytes, s.lines, s.exit_code, s.commands],
            ["ok", server.payload.bytes, server.payload.lines, 0, k],
            `${runner.name}, K = ${k}: ${s.error}`,
          );
        }
      }
    }
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
  }
});

Deno.test(
  { name: "go server: refuses what the lean sshd refuses", ...opts },
  async (t) => {
    const server = await GoServer.start({ maxPool: 4, payloadBytes: 1000 });
    const stranger = await strangerKey();
    try {
      await t.step("a key other than the run's, another user", async () => {
        await connect(server, { key: stranger.key }).then(
          () => assert(false, "a stranger's key was accepted"),
          (e) => assert(/authentication/i.test(String(e)), String(e)),
        );
        await connect(server, { user: "root" }).then(
          () => assert(false, "another user was accepted"),
          (e) => assert(/authentication/i.test(String(e)), String(e)),
        );
      });
      await t.step("pty, shell, subsystem, forwarding", async () => {
        const c = await connect(server);
        try {
          // No pty first (ssh2's shell(cb) asks for one, and the refused
          // pty would fail it before "shell" is ever sent).
          const shell = await outcome((cb) => c.shell(false, cb));
          assert(shell, "a shell was granted");
          const pty = await outcome((cb) => c.exec("true", { pty: true }, cb));
          assert(pty, "a pty was granted");
          const sub = await outcome((cb) => c.subsys("sftp", cb));
          assert(sub, "a subsystem was granted");
          const fwdIn = await outcome((cb) => c.forwardIn("127.0.0.1", 0, cb));
          assert(fwdIn, "remote forwarding was granted");
          const fwdOut = await outcome((cb) =>
            c.forwardOut("127.0.0.1", 1, "127.0.0.1", server.target.port, cb)
          );
          assert(fwdOut, "a direct-tcpip channel was opened");
          // After all that, the connection still runs the payload.
          const out = await new Promise<string>((resolve, reject) => {
            c.exec(server.target.command, (err, stream) => {
              if (err) return reject(err);
              let text = "";
              stream.on("data", (d: Buffer) => text += d.toString());
              stream.on("close", () => resolve(text));
            });
          });
          assertEquals(out.length, 1000);
        } finally {
          c.end();
        }
      });
      await t.step("listens on its address only; runs as the account", () => {
        const port = server.target.port;
        const hex = port.toString(16).toUpperCase().padStart(4, "0");
        const listening = [
          ...Deno.readTextFileSync("/proc/net/tcp").split("\n"),
          ...Deno.readTextFileSync("/proc/net/tcp6").split("\n"),
        ].map((l) => l.trim().split(/\s+/)).filter((f) =>
          f[1]?.endsWith(`:${hex}`) && f[3] === "0A"
        ).map((f) => f[1]);
        // 127.0.0.1 in /proc/net/tcp's little-endian hex.
        assertEquals(listening, [`0100007F:${hex}`]);
        const status = Deno.readTextFileSync(`/proc/${server.pid}/status`);
        const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
        if (Deno.uid() === 0) {
          const passwd = new Deno.Command("id", { args: ["-u", BENCH_USER] })
            .outputSync();
          assertEquals(uid, Number(new TextDecoder().decode(passwd.stdout)));
          assert(uid !== 0);
        } else {
          assertEquals(uid, Deno.uid());
        }
      });
    } finally {
      await server.stop();
      await Deno.remove(stranger.dir, { recursive: true });
    }
  },
);

Deno.test("go server: a pin it cannot honour is one line naming the flag", () => {
  const has = {
    kex: ["curve25519-sha256"],
    ciphers: ["aes128-ctr"],
    macs: ["hmac-sha2-256"],
    host_key_algorithms: ["ssh-ed25519"],
    xcrypto: "0.4.0",
  };
  const why = pinProblem({ ciphers: ["3des-cbc"] }, has)!;
  assert(why.startsWith("--ciphers 3des-cbc: the go server"), why);
  assert(!why.includes("\n"));
  assertEquals(
    pinProblem({ ciphers: ["3des-cbc", "aes128-ctr"] }, has),
    undefined,
  );
});

Deno.test({
  name: "go server: bad flag combinations are one line each, exit 2",
  ...opts,
}, async () => {
  // The identity is checked first: --target needs a real key file.
  const stranger = await strangerKey();
  const target = [
    "--target",
    "ssh://u@127.0.0.1:22",
    "--command",
    "x",
    "--identity",
    stranger.key,
  ];
  try {
    await badFlags(target);
  } finally {
    await Deno.remove(stranger.dir, { recursive: true });
  }
});

/** Each bad combination (`target`: flags of an external target) is one error line, exit 2. */
async function badFlags(target: readonly string[]): Promise<void> {
  for (
    const [args, want] of [
      [
        ["--server-impl", "dropbear"],
        "--server-impl dropbear: use go or openssh",
      ],
      [
        ["--server-impl", "go", "--server-profile", "stock"],
        "--server-profile applies to --server-impl openssh only",
      ],
      [
        ["--server-impl", "go", "--server-max-startups", "10:30:100"],
        "--server-max-startups applies to --server-impl openssh only",
      ],
      [[
        "--server-impl",
        "go",
        "--kex",
        "sntrup761x25519-sha512@openssh.com",
        "--clients",
        "ssh2",
      ], "--kex sntrup761x25519-sha512@openssh.com: the go server"],
      ...["go", "openssh"].map((impl) =>
        [
          ["--server-impl", impl, ...target],
          "--server-impl applies to the embedded server only; drop it or drop --target",
        ] as const
      ),
    ] as const
  ) {
    const r = await benchCli([
      ...args,
      "--pool",
      "1",
      "--step-seconds",
      "0",
      "--no-charts",
    ]);
    assertEquals(r.code, 2, r.stderr);
    const errors = r.stderr.trim().split("\n").filter((l) =>
      l.startsWith("error:")
    );
    assertEquals(errors.length, 1, r.stderr);
    assert(errors[0].includes(want), r.stderr);
  }
}

Deno.test({
  name:
    "go server: not built or outdated, and no go: one line naming .ci/setup, exit 2",
  // A mount namespace of its own hides go and this worktree's build/ from
  // the run only; nothing on the machine changes.
  ignore: Deno.uid() !== 0 || which("unshare") === undefined,
  ...opts,
}, async () => {
  const go = which("go");
  const bin = `${ROOT_DIR}build/ssh-bench-server`;
  const mtime = () => {
    try {
      return Deno.statSync(bin).mtime?.getTime();
    } catch {
      return undefined;
    }
  };
  const before = mtime();
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [state, why] of [
        ["absent", "is not built"],
        ["outdated", "is older than src/server/go/server.go"],
      ]
    ) {
      const script = [
        "set -e",
        // An empty build/ (the binary absent), or one with a stale binary.
        'mount -t tmpfs tmpfs "$1/build"',
        'if [ "$3" = outdated ]; then b="$1/build/ssh-bench-server"; printf "#!/bin/sh\n" > "$b"; chmod +x "$b"; touch -d 2000-01-01 "$b"; fi',
        // go, wherever it is, is no program any more.
        'mount --bind /dev/null "$2"',
        "shift 3",
        'exec "$@"',
      ].join("\n");
      const out = await new Deno.Command("unshare", {
        args: [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          script,
          "sh",
          ROOT_DIR.replace(/\/$/, ""),
          go ? Deno.realPathSync(go) : "/dev/null",
          state,
          Deno.execPath(),
          "run",
          "-A",
          "--config",
          `${ROOT_DIR}deno.json`,
          `${ROOT_DIR}src/cli/bench.ts`,
          "--server-impl",
          "go",
          "--clients",
          "ssh2",
          "--pool",
          "1",
          "--step-seconds",
          "0",
          "--no-charts",
          "--out",
          `${dir}/${state}`,
        ],
        env: { PATH: "/usr/bin:/bin" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, stderr);
      const errors = stderr.trim().split("\n").filter((l) =>
        l.startsWith("error:")
      );
      assertEquals(errors, [
        `error: the Go server build/ssh-bench-server ${why} and go is not installed: run .ci/setup (installs golang-go and golang-golang-x-crypto-dev, and builds it)`,
      ], stderr);
    }
    // This worktree's build/ is as it was.
    assertEquals(mtime(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "go server: no server process outlives a killed run",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/run`;
    const child = longGoRun(out);
    await waitForRounds(out, 2, 60_000);
    const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
    assertEquals(meta.parameters.server_impl, "go");
    assert(
      /^Go x\/crypto\/ssh /.test(meta.versions.server),
      meta.versions.server,
    );
    const servers = goServerPids(child.pid);
    assert(servers.length > 0);
    await child.kill("SIGKILL");
    const deadline = performance.now() + 5000;
    while (servers.some(pidAlive) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(servers.filter(pidAlive), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A long run on the Go server (ssh2, pool 2), as a child process;
 * `command` instead of the payload when given.
 */
function longGoRun(out: string, command?: string): BenchChild {
  return new BenchChild([
    ...(command ? ["--command", command] : []),
    "--server-impl",
    "go",
    "--clients",
    "ssh2",
    "--pool",
    "2",
    "--rounds",
    "100000",
    "--step-seconds",
    "600",
    "--no-charts",
    "--out",
    out,
  ]);
}

/** Pids of Go servers whose parent is `ppid`. */
function goServerPids(ppid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const parent = Number(
        stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1],
      );
      if (argv[0].endsWith("/ssh-bench-server") && parent === ppid) {
        out.push(Number(e.name));
      }
    } catch {
      // gone
    }
  }
  return out;
}

Deno.test({
  name:
    "go server: killed mid-run, its sessions fail and the run stops with exit 1",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/run`;
    // Sessions of over a second: the kill lands in a round, not between.
    const child = longGoRun(out, "sleep 1; cat /etc/hostname");
    await waitForRounds(out, 2, 60_000);
    const [server] = goServerPids(child.pid);
    assert(server !== undefined, "the run's Go server");
    await new Promise((r) => setTimeout(r, 300));
    Deno.kill(server, "SIGKILL");
    const { code, stderr: text } = await child.exit();
    assertEquals(code, 1, text);
    assert(/error: the embedded Go server exited/.test(text), text);
    const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
    assertEquals(meta.status, "failed");
    // The round in flight is written: its sessions failed, each naming the
    // server as the cause (the client's own error beside it); the rounds
    // before it stay ok.
    const sessions = parse(await Deno.readTextFile(`${out}/sessions.csv`), {
      columns: true,
    }) as Record<string, string>[];
    const last = Math.max(...sessions.map((s) => Number(s.round)));
    const failed = sessions.filter((s) => s.status !== "ok");
    assert(failed.length > 0, "no failed row");
    for (const s of failed) {
      assertEquals(s.round, String(last), JSON.stringify(s));
      assert(
        s.error.startsWith("the embedded Go server exited"),
        JSON.stringify(s),
      );
    }
    assert(
      sessions.filter((s) => Number(s.round) < last).every((s) =>
        s.status === "ok"
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "go server: pins mixing names it has and names it lacks use the ones it has",
  ...opts,
}, async () => {
  // sntrup761 and hmac-sha2-512 are not in x/crypto 0.4.0: offered anyway,
  // the first fails every handshake and the second crashes the server.
  const server = await GoServer.start({
    maxPool: 2,
    payloadBytes: 1000,
    algorithms: {
      kex: ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"],
      ciphers: ["aes128-ctr"],
      macs: ["hmac-sha2-512", "hmac-sha2-256"],
    },
  });
  const runners = await loadRunners(["openssh"], () => {}, {
    stderr: () => () => {},
  });
  try {
    const r = await runners[0].runRound({
      round: 1,
      sessions: 2,
      target: server.target,
      commandsPerSession: 1,
      timeoutMs: 20_000,
    });
    assert(r !== undefined);
    for (const s of r.sessions) assertEquals(s.status, "ok", s.error);
    assert(server.running, "the server is still up");
    const config = JSON.parse(server.config);
    assertEquals([config.kex, config.macs], [["curve25519-sha256"], [
      "hmac-sha2-256",
    ]]);
  } finally {
    await Promise.all(runners.map((x) => x.close()));
    await server.stop();
  }
});
