/**
 * Fleets end to end: `--servers K` spreads a round's sessions over K
 * embedded servers round-robin; `--target` repeated and `--hosts FILE`
 * (with comments) make a fleet of existing servers, where a host that
 * refuses connections gives failed rows while the others stay ok; with
 * `--server-rtt` each server has its own RTT; no sshd, namespace, device
 * or forwarder outlives a run, also after Ctrl-C.
 */
import { parse } from "csv-parse/sync";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { linkResources } from "../src/net/mod.ts";
import {
  benchCli,
  benchSshdPids,
  closedPort,
  waitForRounds,
} from "./server_helpers.ts";

const BENCH = new URL("../src/cli/bench.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

function rows(path: string): Record<string, string>[] {
  return parse(Deno.readTextFileSync(path), { columns: true });
}

function count(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function assertNothingLeft(): void {
  const left = linkResources();
  assertEquals(left.forwarders, []);
  assertEquals(left.devices, []);
  assertEquals(left.namespaces, []);
  assertEquals(benchSshdPids(), []);
}

Deno.test({
  name: "fleet: --servers 4 at pool 8 gives every server 4 of 16 sessions",
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await benchCli([
      "--servers",
      "4",
      "--clients",
      "ssh2",
      "--pool",
      "8",
      "--rounds",
      "2",
      "--step-seconds",
      "0",
      "--no-charts",
      "--out",
      `${out}/run`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const s = rows(`${out}/run/sessions.csv`);
    assertEquals(s.length, 16);
    assert(s.every((x) => x.status === "ok"), JSON.stringify(s[0]));
    assertEquals(count(s.map((x) => x.host)), {
      "sshd-1": 4,
      "sshd-2": 4,
      "sshd-3": 4,
      "sshd-4": 4,
    });
    const meta = JSON.parse(Deno.readTextFileSync(`${out}/run/meta.json`));
    assertEquals(meta.parameters.servers, 4);
    assertEquals(meta.hosts.length, 4);
    // Each server did work of its own: four distinct ports, CPU on each.
    assertEquals(
      new Set(meta.hosts.map((h: { port: number }) => h.port)).size,
      4,
    );
    for (const h of meta.hosts) assert(h.server_cpu_ms > 0, JSON.stringify(h));
    const byHost = rows(`${out}/run/hosts.csv`);
    assertEquals(byHost.map((x) => [x.host, x.sessions, x.failed]), [
      ["sshd-1", "4", "0"],
      ["sshd-2", "4", "0"],
      ["sshd-3", "4", "0"],
      ["sshd-4", "4", "0"],
    ]);
    assertMatch(r.stdout, /by host:\nclient +pool +host/);
    assertNothingLeft();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "fleet: repeated --target plus --hosts FILE with a comment and a refusing host: its sessions fail, the others are ok",
  ...opts,
}, async () => {
  const a = await EmbeddedServer.start({ maxPool: 4, payloadBytes: 26_000 });
  const b = await EmbeddedServer.start({ maxPool: 4, payloadBytes: 26_000 });
  const dir = await Deno.makeTempDir();
  try {
    // One key logs in to both (as one key does across a real fleet).
    await Deno.writeTextFile(
      `${b.dir}/authorized_keys`,
      await Deno.readTextFile(`${a.dir}/authorized_keys`),
      { append: true },
    );
    await Deno.writeTextFile(
      `${dir}/known_hosts`,
      (await Deno.readTextFile(a.target.knownHostsFile!)) +
        (await Deno.readTextFile(b.target.knownHostsFile!)),
    );
    const refusing = closedPort();
    const url = (port: number) => `ssh://${a.target.user}@127.0.0.1:${port}`;
    await Deno.writeTextFile(
      `${dir}/hosts`,
      `# the fleet's third host: nothing listens there\n\n${
        url(refusing)
      }  # down\n`,
    );
    const r = await benchCli([
      "--target",
      url(a.target.port),
      "--target",
      url(b.target.port),
      "--hosts",
      `${dir}/hosts`,
      "--identity",
      a.target.identityFile,
      "--known-hosts",
      `${dir}/known_hosts`,
      "--command",
      "echo hi",
      "--clients",
      "ssh2,paramiko,xcrypto",
      "--pool",
      "6",
      "--rounds",
      "2",
      "--step-seconds",
      "0",
      "--no-charts",
      "--out",
      `${dir}/run`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(
        `warning: 127\\.0\\.0\\.1:${refusing} could not be reached to read its host key`,
      ),
    );
    const s = rows(`${dir}/run/sessions.csv`);
    // 3 clients, 2 rounds, pool 6, a third of the sessions on each host.
    assertEquals(s.length, 3 * 2 * 6);
    const label = (p: number) => `127.0.0.1:${p}`;
    for (const x of s) {
      if (x.host === label(refusing)) {
        assertEquals(x.status, "connect_error", JSON.stringify(x));
      } else {
        assertEquals(x.status, "ok", JSON.stringify(x));
      }
    }
    assertEquals(count(s.map((x) => x.host)), {
      [label(a.target.port)]: 12,
      [label(b.target.port)]: 12,
      [label(refusing)]: 12,
    });
    const meta = JSON.parse(Deno.readTextFileSync(`${dir}/run/meta.json`));
    assertEquals(meta.target.host_keys.hosts.length, 2);
    assertMatch(meta.hosts[2].unreachable, /./);
    assertEquals(meta.hosts[0].unreachable, null);
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "fleet: --server-rtt gives each server its RTT; Ctrl-C mid-run leaves no sshd, namespace, device or forwarder",
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  try {
    const done = await benchCli([
      "--server-rtt",
      "0,40",
      "--clients",
      "ssh2",
      "--pool",
      "4",
      "--rounds",
      "2",
      "--step-seconds",
      "0",
      "--no-charts",
      "--out",
      `${out}/done`,
    ]);
    assertEquals(done.code, 0, done.stderr);
    const s = rows(`${out}/done/sessions.csv`);
    assert(s.every((x) => x.status === "ok"));
    for (const x of s) {
      assertEquals(x.rtt_ms, x.host === "sshd-1" ? "0" : "40");
      assert(Number(x.connect_ms) >= Number(x.rtt_ms) - 1, x.connect_ms);
    }
    assertNothingLeft();

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        BENCH,
        "--server-rtt",
        "10,20,30",
        "--clients",
        "ssh2",
        "--pool",
        "3",
        "--step-seconds",
        "60",
        "--no-charts",
        "--out",
        `${out}/cut`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await waitForRounds(`${out}/cut`, 2);
    assertEquals(linkResources().forwarders.length, 3);
    child.kill("SIGINT");
    const r = await child.output();
    assertEquals(r.code, 130, new TextDecoder().decode(r.stderr));
    assertNothingLeft();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("fleet: bad fleet flags are one line each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/empty`, "# nothing here\n\n");
    await Deno.writeTextFile(`${dir}/bad`, "ssh://u@h:22\nh2:22\n");
    for (
      const [args, want] of [
        [["--servers", "0"], /--servers 0: expected a whole number >= 1/],
        [
          ["--servers", "2", "--server-rtt", "0,10,20"],
          /3 values for --servers 2/,
        ],
        [["--server-rtt", "0,50", "--rtt", "10"], /exclude each other/],
        [
          ["--servers", "2", "--target", "ssh://u@h:22", "--command", "x"],
          /drop it or drop --target/,
        ],
        [["--hosts", `${dir}/none`], /no such file/],
        [["--hosts", `${dir}/empty`], /lists no host/],
        [
          ["--hosts", `${dir}/bad`, "--command", "x"],
          new RegExp(`${dir}/bad:2: use ssh://`),
        ],
        [[
          "--target",
          "ssh://u@h:22",
          "--target",
          "ssh://v@h:22", // another account on the same host: still one host
          "--command",
          "x",
        ], /^error: h:22 is given twice/],
      ] as const
    ) {
      const r = await benchCli([...args], { SSH_AUTH_SOCK: "/tmp/none" });
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertMatch(r.stderr, want);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
