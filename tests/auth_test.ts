/**
 * The keys users have, against a real sshd given as `--target`: an
 * encrypted identity file is decrypted once per run (passphrase from
 * SSH_BENCH_PASSPHRASE), so the per-round client CPU stays that of the
 * unencrypted key; ssh-agent auth with no `--identity` works for every
 * client that can use an agent, the others are left out with a warning.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { parseBenchArgs } from "../src/cli/bench_args.ts";
import { pidCpuMs } from "../src/clients/worker_process.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { agentPid, isEncrypted } from "../src/clients/auth.ts";
import { NO_AGENT } from "../src/clients/seam.ts";
import { benchCli } from "./server_helpers.ts";
import { run } from "../src/util/proc.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ALL = ["ssh2", "libssh2", "openssh", "paramiko", "asyncssh", "xcrypto"];

function targetArgs(server: EmbeddedServer, rounds: number): string[] {
  const t = server.target;
  return [
    "--target",
    `ssh://${t.user}@${t.host}:${t.port}`,
    "--known-hosts",
    t.knownHostsFile!,
    "--command",
    t.command,
    "--pool",
    "1",
    "--rounds",
    String(rounds),
    "--step-seconds",
    "0",
    "--no-charts",
  ];
}

/** Median client_cpu_ms per client, from a run's rounds.csv. */
async function cpuMedians(dir: string): Promise<Record<string, number>> {
  const [head, ...rows] = (await Deno.readTextFile(`${dir}/rounds.csv`))
    .trim().split("\n").map((l) => l.split(","));
  const ci = head.indexOf("client");
  const cpu = head.indexOf("client_cpu_ms");
  const by: Record<string, number[]> = {};
  for (const r of rows) (by[r[ci]] ??= []).push(Number(r[cpu]));
  return Object.fromEntries(
    Object.entries(by).map(([c, v]) => {
      v.sort((a, b) => a - b);
      return [c, v[Math.floor(v.length / 2)]];
    }),
  );
}

/** Exactly one `error:` line, the last one, and no stack trace. */
function oneErrorLine(stderr: string): void {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.filter((l) => l.startsWith("error:")).length, 1, stderr);
  assert(lines.at(-1)!.startsWith("error:"), stderr);
  assert(!/^\s+at /m.test(stderr), stderr);
}

/** Every session row of a run is ok. */
async function sessionsOk(dir: string): Promise<string[]> {
  const rows = (await Deno.readTextFile(`${dir}/sessions.csv`)).trim()
    .split("\n").slice(1);
  assert(rows.length > 0);
  assert(rows.every((l) => l.includes(",ok,")), rows.join("\n"));
  return rows;
}

/** Runs a command that must succeed. */
async function runOk(cmd: string, args: string[], env = {}): Promise<void> {
  const r = await run(cmd, args, { env });
  assertEquals(r.code, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
}

Deno.test("auth: --agent and a missing --identity take SSH_AUTH_SOCK", () => {
  const saved = Deno.env.get("SSH_AUTH_SOCK");
  const base = ["--target", "ssh://me@127.0.0.1:22", "--command", "true"];
  try {
    Deno.env.delete("SSH_AUTH_SOCK");
    assertThrows(
      () => parseBenchArgs([...base, "--agent"]),
      /SSH_AUTH_SOCK is not set/,
    );
    assertThrows(
      () => parseBenchArgs(base),
      /needs --identity FILE .* or an ssh-agent/,
    );
    Deno.env.set("SSH_AUTH_SOCK", "/tmp/agent.sock");
    for (const args of [base, [...base, "--agent"]]) {
      const cfg = parseBenchArgs(args);
      assert(cfg !== "help");
      assertEquals(cfg.targets?.[0]?.agentSocket, "/tmp/agent.sock");
      assertEquals(cfg.targets?.[0]?.identity, undefined);
    }
    assertThrows(
      () => parseBenchArgs([...base, "--agent", "--identity", "/etc/hostname"]),
      /exclude each other/,
    );
    assertThrows(() => parseBenchArgs(["--agent"]), /only used with --target/);
  } finally {
    if (saved === undefined) Deno.env.delete("SSH_AUTH_SOCK");
    else Deno.env.set("SSH_AUTH_SOCK", saved);
  }
});

Deno.test({
  name:
    "auth: an encrypted key is decrypted once per run; per-round CPU as with the plain key",
  ...opts,
}, async (t) => {
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  const dir = await Deno.makeTempDir();
  const rounds = 15;
  try {
    const enc = `${dir}/enc`;
    await Deno.copyFile(server.target.identityFile, enc);
    await Deno.chmod(enc, 0o600);
    await runOk("ssh-keygen", ["-q", "-p", "-P", "", "-N", "pass", "-f", enc]);
    assert(await isEncrypted(enc));
    assert(!await isEncrypted(server.target.identityFile));

    await t.step(
      "no passphrase and no terminal: one line naming the variable",
      async () => {
        const r = await benchCli([
          ...targetArgs(server, 1),
          "--identity",
          enc,
          "--out",
          `${dir}/never`,
        ], {});
        assertEquals(r.code, 2, r.stderr);
        oneErrorLine(r.stderr);
        assert(r.stderr.includes("set SSH_BENCH_PASSPHRASE"), r.stderr);
      },
    );

    await t.step(
      "a wrong passphrase stops the run before any session",
      async () => {
        const r = await benchCli([
          ...targetArgs(server, 1),
          "--identity",
          enc,
          "--out",
          `${dir}/never`,
        ], { SSH_BENCH_PASSPHRASE: "wrong" });
        assertEquals(r.code, 2, r.stderr);
        oneErrorLine(r.stderr);
        assert(r.stderr.includes("cannot decrypt it"), r.stderr);
      },
    );

    await t.step(
      "a public key, a key others can read: exit 2, one line naming the fix",
      async () => {
        const open = `${dir}/open`;
        await Deno.copyFile(enc, open);
        await Deno.chmod(open, 0o644);
        for (
          const [file, want] of [
            [`${server.target.identityFile}.pub`, "this is a public key"],
            [
              open,
              `permissions 0644 are too open (ssh refuses a private key others can read); chmod 600 ${open}`,
            ],
          ]
        ) {
          const r = await benchCli([
            ...targetArgs(server, 1),
            "--identity",
            file,
            "--out",
            `${dir}/never`,
          ], { SSH_BENCH_PASSPHRASE: "pass" });
          assertEquals(r.code, 2, r.stderr);
          oneErrorLine(r.stderr);
          assert(r.stderr.includes(want), r.stderr);
        }
      },
    );

    const medians: Record<string, Record<string, number>> = {};
    for (
      const [label, identity, env] of [
        ["plain", server.target.identityFile, {}],
        ["encrypted", enc, { SSH_BENCH_PASSPHRASE: "pass" }],
      ] as const
    ) {
      await t.step(`${label} key: every client runs`, async () => {
        const out = `${dir}/run-${label}`;
        const r = await benchCli([
          ...targetArgs(server, rounds),
          "--identity",
          identity,
          "--clients",
          ALL.join(","),
          "--out",
          out,
        ], env);
        assertEquals(r.code, 0, r.stderr);
        await sessionsOk(out);
        const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
        const kind = label === "plain" ? "key" : "decrypted_key";
        assertEquals(meta.target.auth.kind, kind);
        assertEquals(meta.target.auth.identity, identity);
        assertEquals(
          meta.target.auth.clients,
          Object.fromEntries(ALL.map((c) => [c, kind])),
        );
        medians[label] = await cpuMedians(out);
      });
    }
    console.log("median client CPU per round (pool 1), ms:");
    for (const c of ALL) {
      const p = medians.plain[c];
      const e = medians.encrypted[c];
      console.log(
        `  ${c}: plain key ${p.toFixed(2)}, encrypted key ${e.toFixed(2)}`,
      );
      // Within noise: a per-session KDF would multiply it (bcrypt, 16
      // rounds, is tens of ms).
      assert(e <= 2 * p + 2, `${c}: ${e} ms with the encrypted key vs ${p}`);
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "auth: ssh-agent with no --identity; clients without agent auth are left out with why",
  ...opts,
}, async () => {
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o700);
  const sock = `${dir}/agent.sock`;
  const agent = new Deno.Command("ssh-agent", {
    args: ["-D", "-a", sock],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0; i < 100; i++) {
      try {
        await Deno.stat(sock);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assertEquals(agentPid(sock), agent.pid);
    const key = `${dir}/id`;
    await Deno.copyFile(server.target.identityFile, key);
    await Deno.chmod(key, 0o600);
    await runOk("ssh-add", ["-q", key], { SSH_AUTH_SOCK: sock });
    const out = `${dir}/run`;
    const agentCpu0 = pidCpuMs(agent.pid);
    const r = await benchCli([
      ...targetArgs(server, 2),
      "--clients",
      ALL.join(","),
      "--out",
      out,
    ], { SSH_AUTH_SOCK: sock });
    assertEquals(r.code, 0, r.stderr);
    // The agent signed (its CPU is what each round's client CPU includes).
    assert(pidCpuMs(agent.pid) > agentCpu0, "the agent did the signing");
    const using = ALL.filter((c) => NO_AGENT[c] === undefined);
    for (const c of ALL.filter((c) => NO_AGENT[c] !== undefined)) {
      assert(
        r.stderr.includes(
          `warning: ${c} left out: it cannot log in through ssh-agent`,
        ),
        r.stderr,
      );
    }
    const rows = await sessionsOk(out);
    for (const c of using) {
      assert(rows.some((l) => l.split(",")[1] === c), `${c} ran`);
    }
    const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
    assertEquals(meta.parameters.clients, using);
    assertEquals(meta.target.auth.kind, "agent");
    assertEquals(meta.target.auth.identity, null);
    assertEquals(meta.target.auth.agent_socket, sock);
    assertEquals(meta.target.auth.agent_pid, agent.pid);
    assertEquals(
      Object.keys(meta.target.auth.left_out),
      ALL.filter((c) => NO_AGENT[c] !== undefined),
    );
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
