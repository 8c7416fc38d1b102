/**
 * The clean-up at a run's start (`src/run/stale.ts`): what a dead owner
 * left goes, with the processes in it or using it; what a live owner
 * holds stays (a reused pid is not the owner; an older version's folder
 * without an owner.pid is never taken for dead, unless it holds a
 * decrypted key no process uses). The runs themselves, killed in every
 * phase: `stale_runs_test.ts`.
 */
import { assert, assertEquals } from "./assert.ts";
import { removeStale } from "../src/run/stale.ts";
import { BenchChild } from "./bench_child.ts";
import { cgroupName, CpuCgroup } from "../src/util/cpu_cgroup.ts";
import { makeOwnedTempDirSync } from "../src/util/owned_dirs.ts";
import { ownerAlive, ownerOf, thisProcess } from "../src/util/owner.ts";
import { until } from "./bench_child.ts";
import { exists } from "../src/util/fs.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function spawnIdle(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["60"], stdin: "null" }).spawn();
}

/** A process that exited: its pid names a dead owner. */
async function deadOwner(): Promise<{ pid: number; start: number }> {
  const c = new Deno.Command("true").spawn();
  const o = ownerOf(c.pid) ?? { pid: c.pid, start: 1 };
  await c.status;
  return o;
}

Deno.test({
  name:
    "stale: only a dead owner's cgroups and folders go, with the processes in or using them",
  ...opts,
}, async () => {
  const dead = await deadOwner();
  // This process's pid with another start time: a reused pid, so dead.
  const reused = { pid: Deno.pid, start: thisProcess().start + 1 };
  // A server that accepts and never answers: ssh waits for its banner, as
  // a connection master of a killed run would wait on a dead link.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const c of listener) held.push(c);
  })();
  const master = (dir: string) =>
    new Deno.Command("ssh", {
      args: [
        "-F",
        "/dev/null",
        "-N",
        "-o",
        "BatchMode=yes",
        "-o",
        "ControlMaster=yes",
        "-o",
        `ControlPath=${dir}/s`,
        "-p",
        String(port),
        "127.0.0.1",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  const deadDir = makeOwnedTempDirSync("mux", dead);
  const liveDir = makeOwnedTempDirSync("mux");
  const reusedDir = makeOwnedTempDirSync("hostkeys", reused);
  // Older versions' server folders: owner.pid only, or nothing.
  const old = (pid?: number) => {
    const d = Deno.makeTempDirSync({ prefix: "ssh-bench-sshd-" });
    if (pid) Deno.writeTextFileSync(`${d}/owner.pid`, String(pid));
    return d;
  };
  const oldDead = old(dead.pid);
  const oldLive = old(Deno.pid);
  const oldUnowned = old();
  const deadMaster = master(deadDir);
  const liveMaster = master(liveDir);
  const cgDead = CpuCgroup.create(cgroupName("test-dead", dead));
  const cgLive = CpuCgroup.create(cgroupName("test-live"));
  const inDead = spawnIdle();
  const inLive = spawnIdle();
  cgDead?.add(inDead.pid);
  cgLive?.add(inLive.pid);
  try {
    // The masters are connected (waiting for a banner) before the sweep.
    await until("both masters to connect", () => held.length >= 2);
    const r = await removeStale();
    assert(r.dirs.includes(deadDir), JSON.stringify(r));
    assert(r.dirs.includes(reusedDir), JSON.stringify(r));
    assert(r.dirs.includes(oldDead), JSON.stringify(r));
    for (const d of [deadDir, reusedDir, oldDead]) assert(!exists(d), d);
    for (const d of [liveDir, oldLive, oldUnowned]) assert(exists(d), d);
    assertEquals((await deadMaster.status).signal, "SIGKILL");
    assert(ownerAlive({ pid: liveMaster.pid }), "the live run's master");
    if (cgDead && cgLive) {
      assertEquals((await inDead.status).signal, "SIGKILL");
      assert(!exists(cgDead.path), cgDead.path);
      assert(r.cgroups.includes(cgDead.path));
      assert(ownerAlive({ pid: inLive.pid }), "the live cgroup's process");
      assert(exists(cgLive.path));
    }
  } finally {
    for (const c of [deadMaster, liveMaster, inDead, inLive]) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone
      }
      await c.status;
    }
    await cgLive?.killAndRemove();
    await cgDead?.killAndRemove();
    for (
      const d of [deadDir, liveDir, reusedDir, oldDead, oldLive, oldUnowned]
    ) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
    listener.close();
    for (const c of held) c.close();
  }
});

/**
 * A folder as versions before the in-memory key left it after a SIGKILL:
 * `ssh-bench-hostkeys-XXXX` with no owner mark, holding the decrypted key
 * (`identity`, a real unencrypted key), its public key and a known_hosts.
 */
async function oldKeyFolder(o: { key?: boolean } = {}): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "ssh-bench-hostkeys-" });
  Deno.writeTextFileSync(`${dir}/known_hosts`, "");
  if (o.key ?? true) {
    const r = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/identity`],
      stdin: "null",
    }).output();
    assertEquals(r.code, 0);
  }
  return dir;
}

Deno.test({
  name:
    "stale: an older version's decrypted key with no owner goes unless a process uses it; owned folders stay",
  ...opts,
}, async () => {
  const free = await oldKeyFolder();
  const cwdHeld = await oldKeyFolder();
  const fdHeld = await oldKeyFolder();
  const keyless = await oldKeyFolder({ key: false });
  // Owned ones (a live owner) are never this sweep's, key or not.
  const ownerPid = await oldKeyFolder();
  Deno.writeTextFileSync(`${ownerPid}/owner.pid`, String(Deno.pid));
  const tagged = makeOwnedTempDirSync("hostkeys");
  Deno.writeTextFileSync(`${tagged}/identity`, "key", { mode: 0o600 });
  const inCwd = new Deno.Command("sleep", { args: ["60"], cwd: cwdHeld })
    .spawn();
  const holding = new Deno.Command("sh", {
    args: ["-c", 'exec 3< "$1"; exec sleep 60', "sh", `${fdHeld}/identity`],
    cwd: "/",
  }).spawn();
  const all = [free, cwdHeld, fdHeld, keyless, ownerPid, tagged];
  try {
    // Both holders are in place (the shell opened the key and exec'd).
    await until("the holders to be in place", () => {
      try {
        return Deno.readTextFileSync(`/proc/${holding.pid}/cmdline`)
          .startsWith("sleep") &&
          Deno.readLinkSync(`/proc/${inCwd.pid}/cwd`) === cwdHeld;
      } catch {
        return false;
      }
    });
    const r = await removeStale();
    assert(!exists(free), `${free} is still there`);
    const found = (d: string) => r.oldKeys.find((k) => k.path === d);
    assertEquals(found(free), { path: free, users: [] });
    assertEquals(found(cwdHeld)?.users, [inCwd.pid]);
    assertEquals(found(fdHeld)?.users, [holding.pid]);
    for (const d of [keyless, ownerPid, tagged]) {
      assertEquals(found(d), undefined, d);
    }
    for (const d of [cwdHeld, fdHeld]) assert(exists(`${d}/identity`), d);
    for (const d of [keyless, ownerPid]) assert(exists(d), d);
    assert(exists(`${tagged}/identity`), tagged);
    // Once their users have ended, the next sweep removes them.
    for (const c of [inCwd, holding]) {
      c.kill("SIGKILL");
      await c.status;
    }
    const again = await removeStale();
    for (const d of [cwdHeld, fdHeld]) {
      assertEquals(again.oldKeys.find((k) => k.path === d)?.users, [], d);
      assert(!exists(d), d);
    }
  } finally {
    for (const c of [inCwd, holding]) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone
      }
      await c.status;
    }
    for (const d of all) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test({
  name:
    "stale: a run's start against sshd removes an older version's decrypted key, naming it on a line of its own",
  ...opts,
}, async () => {
  const left = await oldKeyFolder();
  const out = await Deno.makeTempDir();
  try {
    const r = await new BenchChild([
      "--server-impl",
      "openssh",
      "--clients",
      "ssh2",
      "--pool",
      "1",
      "--rounds",
      "1",
      "--step-seconds",
      "0",
      "--no-charts",
      "--out",
      `${out}/run`,
    ]).exit();
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.includes(left));
    assertEquals(lines, [
      `removed a decrypted key an older version left: ${left}/identity (and its folder)`,
    ]);
    assert(!exists(left), left);
  } finally {
    await Deno.remove(left, { recursive: true }).catch(() => {});
    await Deno.remove(out, { recursive: true });
  }
});
