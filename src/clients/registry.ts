/**
 * The client registry: names on the command line to client instances.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import type { SshClient } from "./seam.ts";
import { Libssh2Client } from "./libssh2.ts";
import { OpensshClient } from "./openssh.ts";
import { Ssh2Client } from "./ssh2.ts";
import { NullClient } from "./null.ts";
import { type ClientRunner, InProcessRunner } from "./runner.ts";
import { type StderrSink, WorkerRunner } from "./worker_process.ts";
import { ensureXcryptoWorker } from "./xcrypto.ts";

/** Every client name, in the order runs use them. */
export const CLIENT_NAMES = [
  "ssh2",
  "libssh2",
  "openssh",
  "paramiko",
  "asyncssh",
  "xcrypto",
] as const;

const here = (p: string) => new URL(p, import.meta.url).pathname;
const DENO_WORKER = here("./deno_worker.ts");
const CONFIG = here("../../deno.json");
/** Debian's own Python, which has Debian's python3-* packages. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/**
 * Clients that exist only as worker programs (any language): the command
 * that starts each, or a one-line notice why it cannot start. A compiled
 * worker is built on first use (and rebuilt when its source is newer).
 */
const WORKER_PROGRAMS: Record<string, () => Promise<string[] | string>> = {
  paramiko: () => Promise.resolve(python("./workers/paramiko_worker.py")),
  asyncssh: () => Promise.resolve(python("./workers/asyncssh_worker.py")),
  xcrypto: async () => {
    try {
      return [await ensureXcryptoWorker()];
    } catch (e) {
      if (e instanceof UsageError) return e.message;
      throw e;
    }
  },
};

/** A Python worker on Debian's Python, or the notice that it is missing. */
function python(file: string): string[] | string {
  try {
    Deno.statSync(DEBIAN_PYTHON);
  } catch {
    return `${DEBIAN_PYTHON} not found; install python3 (run .ci/setup)`;
  }
  return [DEBIAN_PYTHON, here(file)];
}

/** A client factory: a client, or a one-line notice why it is unavailable. */
type Factory = () => Promise<SshClient | string>;

const FACTORIES: Record<string, Factory> = {
  ssh2: () => Promise.resolve(new Ssh2Client()),
  // Diagnostic variant, only by name: ssh2 with Nagle's algorithm left on,
  // to measure what TCP_NODELAY changes (see docs/results.md, findings behind the numbers).
  "ssh2-nagle": () =>
    Promise.resolve(new Ssh2Client({ noDelay: false, name: "ssh2-nagle" })),
  libssh2: () => Libssh2Client.load(),
  openssh: () => OpensshClient.load(),
  // The harness benchmark's client: no I/O at all.
  null: () => Promise.resolve(new NullClient()),
};

/**
 * One built-in client by name, in this process; a one-line notice when it
 * cannot load or does not exist as an in-process client.
 *
 * @example
 * ```ts
 * import { createClient } from "./registry.ts";
 * import assert from "node:assert/strict";
 * assert.equal((await createClient("null") as { name: string }).name, "null");
 * assert.match(await createClient("paramiko") as string, /no in-process client/);
 * ```
 */
export async function createClient(name: string): Promise<SshClient | string> {
  const f = FACTORIES[name];
  return f ? await f() : `no in-process client named ${name}`;
}

/** How {@linkcode loadRunners} runs the clients. */
export interface RunnerOptions {
  /**
   * Run the built-in clients in this process (the default is a worker
   * process each, so their CPU and RSS are their own).
   */
  inProcess?: boolean;
  /** Where each worker's stderr goes. */
  stderr?: (client: string) => StderrSink;
}

function checkNames(names: readonly string[]): void {
  const known = [...Object.keys(FACTORIES), ...Object.keys(WORKER_PROGRAMS)];
  for (const n of names) {
    if (!known.includes(n)) {
      throw new UsageError(
        `unknown client "${n}"; use one or more of: ${
          CLIENT_NAMES.join(", ")
        } (test clients: ${
          known.filter((k) => !(CLIENT_NAMES as readonly string[]).includes(k))
            .join(", ")
        })`,
      );
    }
  }
}

async function startRunner(
  name: string,
  o: RunnerOptions,
): Promise<ClientRunner | string> {
  const stderr = o.stderr?.(name) ?? ((t: string) => {
    Deno.stderr.writeSync(new TextEncoder().encode(t));
  });
  const worker = WORKER_PROGRAMS[name];
  if (worker) {
    const program = await worker();
    if (typeof program === "string") return program;
    return await WorkerRunner.start(name, program, stderr);
  }
  if (o.inProcess) {
    const c = await FACTORIES[name]();
    return typeof c === "string" ? c : new InProcessRunner(c);
  }
  const w = await WorkerRunner.start(name, [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--config",
    CONFIG,
    DENO_WORKER,
    name,
  ], stderr);
  if (typeof w !== "string" && name === "openssh") {
    // The cost of starting an `ssh` process, measured alone (meta.json).
    w.calibrate = async () => {
      const c = await OpensshClient.load();
      return typeof c === "string" ? {} : await c.calibrate();
    };
  }
  return w;
}

/**
 * Starts the clients asked for (or every available one), each in a worker
 * process unless `inProcess`. A client named that cannot start is an error
 * (exit 2, naming what to install); when none was named, it is skipped
 * with a notice.
 *
 * @example
 * ```ts
 * import { loadRunners } from "./registry.ts";
 * import assert from "node:assert/strict";
 * const [r] = await loadRunners(["null"], () => {});
 * assert.equal(r.isolated, true);
 * const round = await r.runRound({ round: 1, sessions: 2, target: { host: "", port: 0,
 *   user: "", identityFile: "", command: "" }, commandsPerSession: 1, timeoutMs: 1000 });
 * assert.deepEqual(round?.sessions.map((s) => s.status), ["ok", "ok"]);
 * assert.ok(round!.cpuMs >= 0 && round!.rssMb > 0);
 * await r.close();
 * ```
 */
export async function loadRunners(
  names: readonly string[] | undefined,
  notice: (line: string) => void,
  o: RunnerOptions = {},
): Promise<ClientRunner[]> {
  checkNames(names ?? []);
  const out: ClientRunner[] = [];
  try {
    for (const n of names ?? CLIENT_NAMES) {
      const r = await startRunner(n, o);
      if (typeof r !== "string") out.push(r);
      else if (names) throw new UsageError(`client ${n} cannot be used: ${r}`);
      else notice(`skipping client ${n}: ${r}`);
    }
  } catch (e) {
    await Promise.all(out.map((r) => r.close()));
    throw e;
  }
  if (out.length === 0) {
    throw new UsageError(
      "no client could be loaded; see the notices above for what to install",
    );
  }
  return out;
}

/**
 * Creates the clients asked for (or every available one). A client asked
 * for by name that cannot load is an error; when none was named, it is
 * skipped with a notice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadClients } from "./registry.ts";
 * const notices: string[] = [];
 * const clients = await loadClients(["ssh2"], (l) => notices.push(l));
 * assert.deepEqual(clients.map((c) => c.name), ["ssh2"]);
 * assert.deepEqual(notices, []);
 * await assert.rejects(loadClients(["putty"], () => {}), /unknown client "putty"/);
 * ```
 */
export async function loadClients(
  names: readonly string[] | undefined,
  notice: (line: string) => void,
): Promise<SshClient[]> {
  for (const n of names ?? []) {
    if (!(n in FACTORIES)) {
      throw new UsageError(
        `unknown client "${n}"; use one or more of: ${
          Object.keys(FACTORIES).join(", ")
        }`,
      );
    }
  }
  const out: SshClient[] = [];
  for (const n of names ?? ["ssh2", "libssh2", "openssh"]) {
    const c = await FACTORIES[n]();
    if (typeof c !== "string") out.push(c);
    else if (names) throw new UsageError(`client ${n} cannot be used: ${c}`);
    else notice(`skipping client ${n}: ${c}`);
  }
  if (out.length === 0) {
    throw new UsageError(
      "no client could be loaded; see the notices above for what to install",
    );
  }
  return out;
}
