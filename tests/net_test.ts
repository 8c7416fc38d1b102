/**
 * The emulated network link (src/net/): the delay it adds is never shorter
 * than asked, packets keep their order under load, loss and rate limit
 * act, several links coexist, and nothing (forwarder, namespace, device,
 * process inside) outlives `stop()` or a SIGKILLed owner. The link tests
 * need root and /dev/net/tun; they are skipped elsewhere.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  cleanupStale,
  EmulatedLink,
  linkResources,
  NETNS_PREFIX,
} from "../src/net/mod.ts";
import {
  connectMs,
  fetchBytes,
  type Peer,
  startPeer,
  udpOrder,
} from "../src/net/netpeer.ts";
import { UsageError } from "../src/util/errors.ts";
import { pidAlive, which } from "../src/util/proc.ts";

const CAN_LINK = Deno.uid() === 0 && which("ip") !== undefined &&
  (() => {
    try {
      return Deno.statSync("/dev/net/tun") !== undefined;
    } catch {
      return false;
    }
  })();

const MOD_URL = new URL("../src/net/mod.ts", import.meta.url).href;

/** Runs `f` with a link and a peer inside it; both stopped afterwards. */
async function withPeer(
  opts: Parameters<typeof EmulatedLink.start>[0],
  f: (link: EmulatedLink, peer: Peer) => Promise<void>,
): Promise<void> {
  const link = await EmulatedLink.start(opts);
  try {
    const peer = await startPeer(link);
    try {
      await f(link, peer);
    } finally {
      await peer.stop();
    }
  } finally {
    await link.stop();
  }
}

/** True once `pid` has exited (gone, or a zombie not yet reaped). */
function exited(pid: number): boolean {
  if (!pidAlive(pid)) return true;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 5000) {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertNoTrace(
  link: { namespace: string; device: string; pid: number },
) {
  const r = linkResources();
  assert(
    !r.namespaces.includes(link.namespace),
    `namespace ${link.namespace} left`,
  );
  assert(!r.devices.includes(link.device), `device ${link.device} left`);
  assert(!r.forwarders.includes(link.pid), `forwarder ${link.pid} left`);
  assert(exited(link.pid), `forwarder ${link.pid} still runs`);
}

Deno.test("net: bad options are one-line usage errors", async () => {
  await assertRejects(
    () => EmulatedLink.start({ rttMs: -1 }),
    (e: Error) => e instanceof UsageError && /rttMs -1/.test(e.message),
  );
  await assertRejects(
    () => EmulatedLink.start({ rttMs: 10, lossPct: 200 }),
    (e: Error) => e instanceof UsageError && /lossPct 200/.test(e.message),
  );
});

// The examples of src/net/mod.ts and EmulatedLink (`ignore`d there: they
// need root), run here, where a run without root shows them as ignored.
Deno.test({
  name:
    "net: the doc examples of net/mod.ts and EmulatedLink, as root (a link, its address, wrap, the delay; no trace after stop)",
  ignore: !CAN_LINK,
}, async () => {
  // src/net/mod.ts
  const first = await EmulatedLink.start({ rttMs: 10 });
  assert(linkResources().namespaces.includes(first.namespace));
  await first.stop();
  assert(!linkResources().namespaces.includes(first.namespace));

  // src/net/emulated_link.ts, EmulatedLink
  const link = await EmulatedLink.start({ rttMs: 20 });
  try {
    assert(/^10\.77\.\d+\.2$/.test(link.hostAddress), link.hostAddress);
    assertEquals(link.wrap.slice(0, 1), ["nsenter"]);
    // A program run with `wrap` sees the server side's address.
    const out = await new Deno.Command(link.wrap[0], {
      args: [...link.wrap.slice(1), "cat", "/proc/net/fib_trie"],
    }).output();
    assert(new TextDecoder().decode(out.stdout).includes(link.hostAddress));
    const a = await link.achieved({ reset: true });
    assertEquals(a.oneWayMs, 10);
  } finally {
    await link.stop();
  }
  assertNoTrace(link);
});

Deno.test({
  name:
    "net: without root, starting a link says in one line that root is needed",
  ignore: Deno.uid() !== 0 || which("setpriv") === undefined,
}, async () => {
  const denoDir = await Deno.makeTempDir();
  try {
    await Deno.chmod(denoDir, 0o777);
    const code = `import { EmulatedLink } from "${MOD_URL}";
try { await EmulatedLink.start({ rttMs: 10 }); } catch (e) { console.log(e.name + ": " + e.message); }`;
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        Deno.execPath(),
        "eval",
        "--no-lock",
        code,
      ],
      env: { DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
      cwd: denoDir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert(
      /^UsageError: emulated round-trip times need root\b.*$/.test(text),
      text + new TextDecoder().decode(out.stderr),
    );
    assertEquals(text.split("\n").length, 1);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test({
  name:
    "net: TCP connect through a 40 ms link is never shorter than RTT - 1 ms",
  ignore: !CAN_LINK,
}, async () => {
  await withPeer({ rttMs: 40 }, async (link, peer) => {
    await link.resetStats();
    const ms: number[] = [];
    for (let i = 0; i < 15; i++) {
      ms.push(await connectMs(link.hostAddress, peer.tcpPort));
    }
    for (const m of ms) assert(m >= 39, `connect took ${m} ms`);
    ms.sort((a, b) => a - b);
    assert(ms[7] < 50, `median connect ${ms[7]} ms for a 40 ms RTT`);
    const a = await link.achieved();
    assertEquals(a.rttMs, 40);
    assert(a.count >= 15 * 4, `only ${a.count} packets`);
    assert(a.minMs >= 20, `a packet was held ${a.minMs} ms`);
    assert(a.p50Ms < 21, `median hold ${a.p50Ms} ms`);
    assertEquals(a.drops, 0);
    assert(link.cpuMs() > 0);
  });
});

Deno.test({
  name: "net: packets keep their order under load",
  ignore: !CAN_LINK,
}, async () => {
  await withPeer({ rttMs: 10 }, async (link, peer) => {
    await link.resetStats();
    // 20 bulk TCP transfers fill both queues while numbered UDP
    // datagrams cross the link both ways (echoed by the peer).
    const bulk = Promise.all(
      Array.from(
        { length: 20 },
        () => fetchBytes(link.hostAddress, peer.tcpPort, 300_000),
      ),
    );
    const order = await udpOrder(link.hostAddress, peer.udpPort, {
      count: 5000,
      burst: 25,
    });
    const done = await bulk;
    assertEquals(
      order.outOfOrder,
      0,
      `first out of order: ${order.firstDisorder}`,
    );
    assert(order.received > 1000, `only ${order.received} echoes came back`);
    for (const d of done) assertEquals(d.bytes, 300_000);
    const a = await link.achieved();
    assert(a.count > 5000 + 20 * 200, `only ${a.count} packets forwarded`);
    assertEquals(a.overflow, 0);
    assert(a.minMs >= 5);
  });
});

Deno.test({
  name: "net: loss drops about the share asked, in each direction",
  ignore: !CAN_LINK,
}, async () => {
  await withPeer({ rttMs: 2, lossPct: 30 }, async (link, peer) => {
    await link.resetStats();
    const r = await udpOrder(link.hostAddress, peer.udpPort, {
      count: 2000,
      burst: 20,
      waitMs: 300,
    });
    // Both ways: 0.7 * 0.7 = 49 % come back.
    const share = r.received / r.sent;
    assert(
      share > 0.4 && share < 0.6,
      `${(share * 100).toFixed(1)} % came back`,
    );
    const a = await link.achieved();
    assert(a.toServer.lost > 400 && a.toClient.lost > 200, JSON.stringify(a));
    assertEquals(r.outOfOrder, 0);
  });
});

Deno.test({
  name: "net: the rate limit slows a transfer down to the rate",
  ignore: !CAN_LINK || which("tc") === undefined,
}, async () => {
  await withPeer({ rttMs: 2, rateMbit: 20 }, async (link, peer) => {
    const r = await fetchBytes(link.hostAddress, peer.tcpPort, 1_000_000);
    assertEquals(r.bytes, 1_000_000);
    // 8 Mbit at 20 Mbit/s: 0.4 s, less the first burst.
    assert(r.totalMs > 300 && r.totalMs < 5000, `took ${r.totalMs} ms`);
  });
});

Deno.test({
  name: "net: links started together coexist, each with its own RTT",
  ignore: !CAN_LINK,
}, async () => {
  const links = await Promise.all(
    [10, 30].map((rttMs) => EmulatedLink.start({ rttMs })),
  );
  try {
    const [a, b] = links;
    assert(a.slot !== b.slot && a.namespace !== b.namespace);
    const peers = await Promise.all(links.map((l) => startPeer(l)));
    try {
      const ta = await connectMs(a.hostAddress, peers[0].tcpPort);
      const tb = await connectMs(b.hostAddress, peers[1].tcpPort);
      assert(ta >= 9 && ta < 25, `10 ms link: ${ta} ms`);
      assert(tb >= 29 && tb < 45, `30 ms link: ${tb} ms`);
    } finally {
      await Promise.all(peers.map((p) => p.stop()));
    }
  } finally {
    await Promise.all(links.map((l) => l.stop()));
  }
  for (const l of links) assertNoTrace(l);
});

Deno.test({
  name:
    "net: nothing outlives stop(): forwarder, namespace, device, processes inside",
  ignore: !CAN_LINK,
}, async () => {
  const link = await EmulatedLink.start({ rttMs: 5 });
  const r = linkResources();
  assert(r.namespaces.includes(link.namespace));
  assert(r.devices.includes(link.device));
  assert(r.forwarders.includes(link.pid));
  assert(link.running);
  // A process left running in the namespace is killed by stop().
  const sleeper = new Deno.Command(link.wrap[0], {
    args: [...link.wrap.slice(1), "sleep", "600"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await link.stop();
  const status = await sleeper.status;
  assertEquals(status.signal, "SIGKILL");
  assert(!link.running);
  assertNoTrace(link);
  await link.stop(); // twice is fine
  await assertRejects(() => link.achieved(), /not running/);
});

/**
 * Starts a link in a child Deno with a `sleep` inside its namespace, and
 * SIGKILLs the child once it is up.
 */
async function orphanLink(): Promise<
  { ns: string; fwd: number; sleep: number; dev: string }
> {
  const code = `import { EmulatedLink } from "${MOD_URL}";
const link = await EmulatedLink.start({ rttMs: 10 });
const s = new Deno.Command(link.wrap[0], { args: [...link.wrap.slice(1), "sleep", "600"] }).spawn();
console.log(JSON.stringify({ ns: link.namespace, fwd: link.pid, sleep: s.pid, dev: link.device }));
setInterval(() => {}, 1000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  return JSON.parse(text);
}

Deno.test({
  name:
    "net: a SIGKILLed owner's link is removed by cleanupStale and by the next start",
  ignore: !CAN_LINK,
}, async () => {
  for (const via of ["cleanupStale", "start"]) {
    const o = await orphanLink();
    assert(o.ns.startsWith(NETNS_PREFIX));
    // The forwarder dies with its owner and takes its devices along.
    await waitFor("the orphan's forwarder to exit", () => exited(o.fwd));
    await waitFor(
      "the orphan's device to go",
      () => !linkResources().devices.includes(o.dev),
    );
    // The namespace and what runs inside stay until the next clean-up.
    assert(linkResources().namespaces.includes(o.ns));
    assert(!exited(o.sleep));
    if (via === "cleanupStale") {
      const removed = await cleanupStale();
      assert(removed.includes(o.ns), `${via}: removed ${removed}`);
    } else {
      const link = await EmulatedLink.start({ rttMs: 1 });
      await link.stop();
      assertNoTrace(link);
    }
    assert(!linkResources().namespaces.includes(o.ns), `${via}: ${o.ns} left`);
    await waitFor(`${via}: the sleep inside to die`, () => exited(o.sleep));
    assertNoTrace({ namespace: o.ns, device: o.dev, pid: o.fwd });
  }
});

Deno.test({
  name: "net: a link never stopped is removed when its process exits",
  ignore: !CAN_LINK,
}, async () => {
  for (const end of ["", "Deno.exit(3);"]) {
    const code = `import { EmulatedLink } from "${MOD_URL}";
const link = await EmulatedLink.start({ rttMs: 10 });
console.log(JSON.stringify({ ns: link.namespace, fwd: link.pid, dev: link.device }));
${end}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assertEquals(out.code, end ? 3 : 0);
    const o = JSON.parse(new TextDecoder().decode(out.stdout));
    await waitFor("the forwarder to exit", () => exited(o.fwd));
    assertNoTrace({ namespace: o.ns, device: o.dev, pid: o.fwd });
  }
});
