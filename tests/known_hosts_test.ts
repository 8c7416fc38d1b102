/**
 * Host keys for `--target`: the known_hosts checks (plain, wildcard,
 * negated, hashed and `[host]:port` entries, markers) as units, then
 * against a real sshd: every client accepts only the verified key; the
 * command line stops before any session on an unknown or changed key with
 * one line, runs with a known plain or hashed entry, and with
 * `--accept-new-host-keys` runs and records the key in meta.json.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  checkHostKeys,
  fingerprint,
  hashedHostName,
  type HostKey,
  knownHostsText,
  namesHost,
  parseKnownHosts,
} from "../src/run/known_hosts.ts";
import { UsageError } from "../src/util/errors.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { loadRunners } from "../src/clients/mod.ts";
import type { Target } from "../src/clients/seam.ts";
import {
  assertNoNewDirs,
  benchCli,
  closedPort,
  serverDirs,
  strangerKey,
} from "./server_helpers.ts";

const ED =
  "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const ED2 =
  "AAAAC3NzaC1lZDI1NTE5AAAAIEZrJHMBuv0v8jTx3BMhRfsZ3CMM1c1Sqcm1Jg8Xx9Bp";
const EC =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKL5Ibt0RZnSM7KUoiVvQaIRIu3A7yITB6zbPJqs3yUqIUhfe4EJD6aLz1jcuYfG6Y6mlR2y0KvNr9T4zWe7TBo=";

/** A fake `ssh-keyscan`: the keys each host shows. */
function scanOf(keys: Record<string, HostKey[]>) {
  return (host: string, port: number) =>
    Promise.resolve(
      keys[`${host}:${port}`]
        ? { keys: keys[`${host}:${port}`] }
        : { keys: [], error: "ssh-keyscan: Connection refused" },
    );
}

async function withFile(
  text: string,
  body: (file: string) => Promise<void>,
): Promise<void> {
  const file = await Deno.makeTempFile({ prefix: "known_hosts-" });
  try {
    await Deno.writeTextFile(file, text);
    await body(file);
  } finally {
    await Deno.remove(file);
  }
}

/** The message of the UsageError `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof UsageError, String(e));
    assert(!e.message.includes("\n"), "one line");
    return e.message;
  }
  throw new Error("no error");
}

Deno.test("known_hosts: names match as OpenSSH matches them", () => {
  assert(namesHost("a,b,c", "b", 22));
  assert(namesHost("B", "b", 22), "case-insensitive");
  assert(!namesHost("b", "b", 2222), "port 22 form for port 22 only");
  assert(namesHost("[b]:2222", "b", 2222));
  assert(!namesHost("[b]:2222", "b", 22));
  assert(!namesHost("[b]:2222", "b", 2223));
  assert(namesHost("*.lan", "x.lan", 22));
  assert(namesHost("[*.lan]:2222", "x.lan", 2222));
  assert(namesHost("x?.lan", "x1.lan", 22));
  assert(!namesHost("x?.lan", "x12.lan", 22));
  assert(!namesHost("*.lan,!x.lan", "x.lan", 22), "negation wins");
  assert(!namesHost("!x.lan", "y.lan", 22), "negation alone names nothing");
  assert(!namesHost("a.b", "aXb", 22), "a dot is no wildcard");
});

Deno.test("known_hosts: hashed entries match ssh-keygen -H's", async () => {
  await withFile(
    `127.0.0.1 ssh-ed25519 ${ED}\n[127.0.0.1]:2222 ssh-ed25519 ${ED2}\n`,
    async (file) => {
      const r = await new Deno.Command("ssh-keygen", {
        args: ["-H", "-f", file],
        stdout: "null",
        stderr: "null",
      }).output();
      assertEquals(r.code, 0);
      await Deno.remove(`${file}.old`).catch(() => {});
      const entries = parseKnownHosts(await Deno.readTextFile(file));
      assertEquals(entries.length, 2);
      assert(entries.every((e) => e.hosts.startsWith("|1|")));
      assert(namesHost(entries[0].hosts, "127.0.0.1", 22));
      assert(!namesHost(entries[0].hosts, "127.0.0.1", 2222));
      assert(namesHost(entries[1].hosts, "127.0.0.1", 2222));
      assert(!namesHost(entries[1].hosts, "127.0.0.2", 2222));
      const salt = entries[1].hosts.split("|")[2];
      assertEquals(hashedHostName("[127.0.0.1]:2222", salt), entries[1].hosts);
    },
  );
});

Deno.test("known_hosts: fingerprints are ssh-keygen -l's", async () => {
  await withFile(`h ssh-ed25519 ${ED}\n`, async (file) => {
    const r = await new Deno.Command("ssh-keygen", {
      args: ["-l", "-f", file],
      stdout: "piped",
    }).output();
    const printed = new TextDecoder().decode(r.stdout).split(" ")[1];
    assertEquals(fingerprint(ED), printed);
  });
});

Deno.test("known_hosts: a known key is verified, the best type when several are", async () => {
  await withFile(
    `# comment\n@cert-authority * ssh-ed25519 ${ED2}\nother ssh-ed25519 ${ED2}\n[h]:2222 ecdsa-sha2-nistp256 ${EC}\n[h]:2222 ssh-ed25519 ${ED}\n`,
    async (path) => {
      const c = await checkHostKeys([{ host: "h", port: 2222 }], {
        knownHostsFile: path,
        scan: scanOf({
          "h:2222": [{ keyType: "ecdsa-sha2-nistp256", key: EC }, {
            keyType: "ssh-ed25519",
            key: ED,
          }],
        }),
      });
      assertEquals(c.knownHostsFile, path);
      assertEquals(c.hosts.length, 1);
      const h = c.hosts[0];
      assertEquals([h.keyType, h.key, h.entry, h.acceptedNew], [
        "ssh-ed25519",
        ED,
        `${path}:5`,
        false,
      ]);
      assertEquals(h.fingerprint, fingerprint(ED));
      assertEquals(knownHostsText(c.hosts), `[h]:2222 ssh-ed25519 ${ED}\n`);
      // Pinned to ECDSA: the ECDSA entry is the one.
      const pinned = await checkHostKeys([{ host: "h", port: 2222 }], {
        knownHostsFile: path,
        hostKeyAlgorithms: ["ecdsa-sha2-nistp256"],
        scan: scanOf({
          "h:2222": [{ keyType: "ecdsa-sha2-nistp256", key: EC }, {
            keyType: "ssh-ed25519",
            key: ED,
          }],
        }),
      });
      assertEquals(pinned.hosts[0].entry, `${path}:4`);
      // Pinned to RSA, which it has no known key of: one line saying so.
      const msg = await failure(checkHostKeys([{ host: "h", port: 2222 }], {
        knownHostsFile: path,
        hostKeyAlgorithms: ["rsa-sha2-256"],
        scan: scanOf({ "h:2222": [{ keyType: "ssh-ed25519", key: ED }] }),
      }));
      assert(msg.includes("rsa-sha2-256 suit none of the known keys"), msg);
    },
  );
});

Deno.test("known_hosts: an unknown key is one line naming ssh-keyscan and --accept-new-host-keys", async () => {
  await withFile(`h ssh-ed25519 ${ED}\n`, async (path) => {
    const scan = scanOf({ "h:2222": [{ keyType: "ssh-ed25519", key: ED }] });
    // The entry is for port 22: port 2222 is another server.
    const msg = await failure(
      checkHostKeys([{ host: "h", port: 2222 }], {
        knownHostsFile: path,
        scan,
      }),
    );
    assertEquals(
      msg,
      `host key check failed, no session started: unknown host key for h:2222 (ssh-ed25519 ${
        fingerprint(ED)
      }): it is not in ${path}; if that is the server's key, add it with ssh-keyscan -p 2222 h >> ${path}, or run with --accept-new-host-keys to trust it for this run only`,
    );
    const ok = await checkHostKeys([{ host: "h", port: 2222 }], {
      knownHostsFile: path,
      scan,
      acceptNew: true,
    });
    assertEquals([ok.hosts[0].acceptedNew, ok.hosts[0].entry], [true, null]);
    // Never written to the file.
    assertEquals(await Deno.readTextFile(path), `h ssh-ed25519 ${ED}\n`);
    // Only another type known: still unknown, and the line says so.
    const other = await failure(checkHostKeys([{ host: "h", port: 22 }], {
      knownHostsFile: path,
      scan: scanOf({
        "h:22": [{ keyType: "ecdsa-sha2-nistp256", key: EC }],
      }),
    }));
    assert(
      other.includes(
        "lists only other key types for it (ssh-ed25519 at line 1)",
      ),
      other,
    );
  });
});

Deno.test("known_hosts: a changed key names the old entry, and is never accepted", async () => {
  await withFile(
    `x ssh-rsa AAAA\n[h]:2222 ssh-ed25519 ${ED}\n`,
    async (path) => {
      const scan = scanOf({ "h:2222": [{ keyType: "ssh-ed25519", key: ED2 }] });
      for (const acceptNew of [false, true]) {
        const msg = await failure(
          checkHostKeys([{ host: "h", port: 2222 }], {
            knownHostsFile: path,
            scan,
            acceptNew,
          }),
        );
        assertEquals(
          msg,
          `host key check failed, no session started: the host key of h:2222 has CHANGED: the server shows ssh-ed25519 ${
            fingerprint(ED2)
          }, but ${path}:2 has ssh-ed25519 ${
            fingerprint(ED)
          } (the server was reinstalled, or someone is in between); if the new key is right, remove the old entry (ssh-keygen -R '[h]:2222' -f ${path}) and add the new one; --accept-new-host-keys never accepts a changed key`,
        );
      }
    },
  );
});

Deno.test("known_hosts: every failing host is listed in the same line", async () => {
  const salt = "c2FsdHNhbHRzYWx0c2FsdHNhbHQ=";
  await withFile(
    `${
      hashedHostName("[a]:1", salt)
    } ssh-ed25519 ${ED}\n[b]:2 ssh-ed25519 ${ED}\n@revoked [d]:4 ssh-ed25519 ${ED2}\n`,
    async (path) => {
      const msg = await failure(checkHostKeys([
        { host: "a", port: 1 }, // known (hashed)
        { host: "b", port: 2 }, // changed
        { host: "c", port: 3 }, // unknown
        { host: "d", port: 4 }, // revoked
        { host: "e", port: 5, user: "me" }, // unreachable
      ], {
        knownHostsFile: path,
        scan: scanOf({
          "a:1": [{ keyType: "ssh-ed25519", key: ED }],
          "b:2": [{ keyType: "ssh-ed25519", key: ED2 }],
          "c:3": [{ keyType: "ssh-ed25519", key: ED }],
          "d:4": [{ keyType: "ssh-ed25519", key: ED2 }],
        }),
      }));
      assert(msg.startsWith("host key check failed for 4 servers"), msg);
      assert(msg.includes("(1) the host key of b:2 has CHANGED"), msg);
      assert(msg.includes(`${path}:2 has ssh-ed25519`), msg);
      assert(msg.includes("(2) unknown host key for c:3"), msg);
      assert(msg.includes(`(3) the host key of d:4 (ssh-ed25519`), msg);
      assert(msg.includes(`is marked @revoked in ${path}:3`), msg);
      assert(
        msg.includes(
          "(4) cannot connect to me@e:5 to read its host key; check the host and port and that sshd runs there (ssh-keyscan: Connection refused)",
        ),
        msg,
      );
      assert(!msg.includes("a:1"), msg);
    },
  );
});

Deno.test("known_hosts: a missing default file means every host is unknown", async () => {
  const msg = await failure(checkHostKeys([{ host: "h", port: 22 }], {
    knownHostsFile: "/nonexistent/known_hosts",
    scan: scanOf({ "h:22": [{ keyType: "ssh-ed25519", key: ED }] }),
  }));
  assert(msg.includes("unknown host key for h:22"), msg);
  assert(
    msg.includes("ssh-keyscan -p 22 h >> /nonexistent/known_hosts"),
    msg,
  );
});

// ---------------------------------------------------------------------------
// Against a real sshd.

const opts = { sanitizeResources: false, sanitizeOps: false };
const ALL = ["ssh2", "libssh2", "openssh", "paramiko", "asyncssh", "xcrypto"];

/** The embedded server's host key line, `type key`. */
async function hostKeyOf(server: EmbeddedServer): Promise<HostKey> {
  const [, keyType, key] =
    (await Deno.readTextFile(server.target.knownHostsFile!)).trim().split(
      " ",
    );
  return { keyType, key };
}

/** `--target` arguments for the embedded server. */
function targetArgs(server: EmbeddedServer, clients = ALL): string[] {
  const t = server.target;
  return [
    "--target",
    `ssh://${t.user}@${t.host}:${t.port}`,
    "--identity",
    t.identityFile,
    "--command",
    t.command,
    "--clients",
    clients.join(","),
    "--pool",
    "1",
    "--rounds",
    "1",
    "--step-seconds",
    "0",
    "--no-charts",
  ];
}

/** The `error:` lines of a run's stderr. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("error:"));
}

Deno.test({
  name:
    "known_hosts: the real ssh-keyscan reads the server's key, a closed port is unreachable",
  ...opts,
}, async () => {
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  try {
    const key = await hostKeyOf(server);
    await withFile(
      `[127.0.0.1]:${server.target.port} ${key.keyType} ${key.key}\n`,
      async (path) => {
        const c = await checkHostKeys([{
          host: "127.0.0.1",
          port: server.target.port,
        }], { knownHostsFile: path });
        assertEquals(c.hosts[0].key, key.key);
        const closed = closedPort();
        const msg = await failure(checkHostKeys([
          { host: "127.0.0.1", port: closed, user: "me" },
          { host: "localhost", port: server.target.port },
        ], { knownHostsFile: path }));
        // Two servers, one unreachable, one unknown (the entry names
        // 127.0.0.1, not localhost): both in one line.
        assert(msg.startsWith("host key check failed for 2 servers"), msg);
        assert(
          msg.includes(`(1) cannot connect to me@127.0.0.1:${closed}`),
          msg,
        );
        assert(
          msg.includes(
            `(2) unknown host key for localhost:${server.target.port}`,
          ),
          msg,
        );
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "known_hosts: every client accepts the pinned key only",
  ...opts,
}, async (t) => {
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  const runners = await loadRunners(ALL, (l) => {
    throw new Error(`client missing in the test environment: ${l}`);
  });
  const dir = await Deno.makeTempDir();
  const stranger = await strangerKey();
  try {
    const key = await hostKeyOf(server);
    // A real key of the same type that is not the server's.
    const other = (await Deno.readTextFile(`${stranger.key}.pub`)).split(" ");
    const name = `[127.0.0.1]:${server.target.port}`;
    for (
      const [label, line, pinned, status] of [
        [
          "the server's key",
          `${name} ${key.keyType} ${key.key}`,
          key.key,
          "ok",
        ],
        [
          "another key",
          `${name} ${other[0]} ${other[1]}`,
          other[1],
          "connect_error",
        ],
        // A fleet host that could not be reached when keys were checked:
        // not in the run's known_hosts file, no verified key.
        [
          "no key at all (an unverified fleet host)",
          `[127.0.0.1]:1 ${key.keyType} ${key.key}`,
          "unverified",
          "connect_error",
        ],
      ] as const
    ) {
      const file = `${dir}/${label.replace(/[^a-z]+/g, "-")}`;
      await Deno.writeTextFile(file, `${line}\n`);
      const target: Target = {
        ...server.target,
        knownHostsFile: file,
        hostKeyBase64: pinned,
      };
      for (const r of runners) {
        await t.step(`${r.name}, ${label}`, async () => {
          const round = await r.runRound({
            round: 1,
            sessions: 1,
            target,
            commandsPerSession: 1,
            timeoutMs: 20_000,
          });
          const s = round!.sessions[0];
          assertEquals(s.status, status, `${r.name}: ${s.error}`);
          if (status === "ok") assertEquals(s.bytes, server.payload.bytes);
          else assertEquals(s.auth_ms, null, "no auth after a refused key");
        });
      }
    }
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(stranger.dir, { recursive: true });
  }
});

Deno.test({
  name:
    "known_hosts: a second host key of a type clients prefer does not hide the known one",
  ...opts,
}, async (t) => {
  // libssh2 prefers ECDSA: the server also has an ECDSA key, only its
  // Ed25519 key is known; every client must still verify the Ed25519 key.
  const keys = await Deno.makeTempDir();
  const r = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ecdsa", "-N", "", "-f", `${keys}/host_ecdsa`],
  }).output();
  assertEquals(r.code, 0);
  const server = await EmbeddedServer.start({
    maxPool: 1,
    payloadBytes: 100,
    extraConfig: `HostKey ${keys}/host_ecdsa`,
  });
  const runners = await loadRunners(ALL, () => {});
  try {
    const c = await checkHostKeys([{
      host: "127.0.0.1",
      port: server.target.port,
    }], { knownHostsFile: server.target.knownHostsFile });
    assertEquals(c.hosts[0].keyType, "ssh-ed25519");
    for (const runner of runners) {
      await t.step(runner.name, async () => {
        const round = await runner.runRound({
          round: 1,
          sessions: 1,
          target: server.target,
          commandsPerSession: 1,
          timeoutMs: 20_000,
        });
        const s = round!.sessions[0];
        assertEquals(s.status, "ok", `${runner.name}: ${s.error}`);
        assertEquals(s.negotiated?.hostKey, "ssh-ed25519");
      });
    }
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
    await Deno.remove(keys, { recursive: true });
  }
});

Deno.test({
  name:
    "known_hosts: the command line checks the key of --target before any session",
  ...opts,
}, async (t) => {
  const before = serverDirs();
  const keyDirs = () =>
    [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
      e.name.startsWith("ssh-bench-hostkeys-")
    ).map((e) => e.name);
  const keyDirsBefore = keyDirs();
  const server = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 100 });
  const dir = await Deno.makeTempDir();
  try {
    const key = await hostKeyOf(server);
    const port = server.target.port;
    const plain = `${dir}/plain`;
    await Deno.writeTextFile(
      plain,
      `# mine\nother.example ssh-ed25519 ${ED}\n[127.0.0.1]:${port} ${key.keyType} ${key.key}\n`,
    );
    const hashed = `${dir}/hashed`;
    await Deno.copyFile(plain, hashed);
    const h = await new Deno.Command("ssh-keygen", {
      args: ["-H", "-f", hashed],
      stdout: "null",
      stderr: "null",
    }).output();
    assertEquals(h.code, 0);
    assert((await Deno.readTextFile(hashed)).includes("|1|"));
    const changed = `${dir}/changed`;
    await Deno.writeTextFile(
      changed,
      `[127.0.0.1]:${port} ssh-ed25519 ${ED}\n`,
    );
    const port22 = `${dir}/port22`;
    await Deno.writeTextFile(port22, `127.0.0.1 ${key.keyType} ${key.key}\n`);
    const empty = `${dir}/empty`;
    await Deno.writeTextFile(empty, "");

    for (const [label, file] of [["plain", plain], ["hashed", hashed]]) {
      await t.step(
        `a known key (${label} entry): every client runs`,
        async () => {
          const out = `${dir}/run-${label}`;
          const r = await benchCli([
            ...targetArgs(server),
            "--known-hosts",
            file,
            "--out",
            out,
          ]);
          assertEquals(r.code, 0, r.stderr);
          const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
          assertEquals(meta.parameters.clients, ALL);
          assertEquals(meta.target.host_keys, {
            known_hosts_file: file,
            accept_new: false,
            hosts: [{
              host: "127.0.0.1",
              port,
              key_type: key.keyType,
              fingerprint: fingerprint(key.key),
              trusted_by: "known_hosts",
              entry: `${file}:3`,
            }],
          });
          const sessions = (await Deno.readTextFile(`${out}/sessions.csv`))
            .trim().split("\n").slice(1);
          assertEquals(sessions.length, ALL.length);
          assert(
            sessions.every((l) => l.includes(",ok,")),
            sessions.join("\n"),
          );
        },
      );
    }

    await t.step(
      "an unknown key: exit 2, one line naming the fix",
      async () => {
        const r = await benchCli([
          ...targetArgs(server),
          "--known-hosts",
          port22,
          "--out",
          `${dir}/never`,
        ]);
        assertEquals(r.code, 2, r.stderr);
        const lines = errorLines(r.stderr);
        assertEquals(lines.length, 1, r.stderr);
        assertEquals(
          lines[0],
          `error: host key check failed, no session started: unknown host key for 127.0.0.1:${port} (${key.keyType} ${
            fingerprint(key.key)
          }): it is not in ${port22}; if that is the server's key, add it with ssh-keyscan -p ${port} 127.0.0.1 >> ${port22}, or run with --accept-new-host-keys to trust it for this run only`,
        );
        assert(!r.stderr.includes("calibration:"), "no session started");
        await assertRejects(Deno.stat(`${dir}/never`));
      },
    );

    await t.step(
      "a changed key: exit 2, one line naming the old entry",
      async () => {
        for (const extra of [[], ["--accept-new-host-keys"]]) {
          const r = await benchCli([
            ...targetArgs(server),
            "--known-hosts",
            changed,
            ...extra,
            "--out",
            `${dir}/never`,
          ]);
          assertEquals(r.code, 2, r.stderr);
          const lines = errorLines(r.stderr);
          assertEquals(lines.length, 1, r.stderr);
          assertEquals(
            lines[0],
            `error: host key check failed, no session started: the host key of 127.0.0.1:${port} has CHANGED: the server shows ${key.keyType} ${
              fingerprint(key.key)
            }, but ${changed}:1 has ssh-ed25519 ${
              fingerprint(ED)
            } (the server was reinstalled, or someone is in between); if the new key is right, remove the old entry (ssh-keygen -R '[127.0.0.1]:${port}' -f ${changed}) and add the new one; --accept-new-host-keys never accepts a changed key`,
          );
        }
      },
    );

    await t.step(
      "--accept-new-host-keys: the run works and meta.json records the key",
      async () => {
        const out = `${dir}/run-new`;
        const r = await benchCli([
          ...targetArgs(server),
          "--known-hosts",
          empty,
          "--accept-new-host-keys",
          "--out",
          out,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const meta = JSON.parse(await Deno.readTextFile(`${out}/meta.json`));
        assertEquals(meta.target.host_keys, {
          known_hosts_file: empty,
          accept_new: true,
          hosts: [{
            host: "127.0.0.1",
            port,
            key_type: key.keyType,
            fingerprint: fingerprint(key.key),
            trusted_by: "accepted_new",
            entry: null,
          }],
        });
        assertEquals(await Deno.readTextFile(empty), "", "file not written");
        assert(meta.argv.includes("--accept-new-host-keys"));
      },
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
  // The run's own known_hosts directories are gone too.
  assertEquals(keyDirs().filter((d) => !keyDirsBefore.includes(d)), []);
  assertNoNewDirs(before);
});
