/**
 * The worker process of the built-in clients (`ssh2`, `libssh2`,
 * `openssh`, `null`): `deno run -A src/clients/deno_worker.ts NAME` speaks
 * the worker protocol (`protocol.ts`) on stdin/stdout, running each round
 * with the in-process runner. Anything else goes to stderr. However it
 * exits (the parent-death SIGTERM of a killed benchmark included), it
 * kills what it started first (`worker_exit.ts`).
 *
 * @module
 */
import { selfCpuMs } from "../util/cpu.ts";
import { textLines } from "../util/text_lines.ts";
import { createClient } from "./registry.ts";
import {
  forSession,
  parseRoundRequest,
  PROTOCOL_VERSION,
  type RoundDone,
  type RoundRequest,
} from "./protocol.ts";
import { InProcessRunner } from "./runner.ts";
import type { Target } from "./seam.ts";
import { MISSING_LIBRARY_EXIT } from "./worker_process.ts";
import { stopOnEveryExit } from "./worker_exit.ts";

const enc = new TextEncoder();
function send(message: unknown): void {
  const bytes = enc.encode(JSON.stringify(message) + "\n");
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/**
 * The key a known_hosts file gives for `host:port` (plain entries, as the
 * embedded server writes them), base64; a key no server has when none is
 * listed, so that every session fails the host-key check.
 */
function hostKeyFor(file: string, host: string, port: number): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  for (const line of Deno.readTextFileSync(file).split("\n")) {
    const [names, , key] = line.trim().split(/\s+/);
    if (names?.split(",").includes(name) && key) return key;
  }
  return "no-such-key";
}

/** Serves the protocol for client `name` until stdin closes. */
async function serve(name: string): Promise<number> {
  const client = await createClient(name);
  if (typeof client === "string") {
    console.error(client);
    return MISSING_LIBRARY_EXIT;
  }
  // Whatever a library prints goes to stderr: stdout is the protocol's.
  console.log = console.error;
  console.info = console.error;
  const runner = new InProcessRunner(client);
  send({
    type: "hello",
    protocol: PROTOCOL_VERSION,
    client: name,
    version: client.version(),
  });
  for await (const line of textLines(Deno.stdin.readable)) {
    if (line.trim() === "") continue;
    const req = parseRoundRequest(line);
    const targets = Array.from(
      { length: req.hosts?.length || 1 },
      (_, i) => targetOf(forSession(req, i + 1)),
    );
    const r = await runner.runRound({
      round: req.round,
      sessions: req.sessions,
      target: targets[0],
      targets,
      commandsPerSession: req.commands_per_session,
      timeoutMs: req.timeout_ms,
    });
    for (const s of r?.sessions ?? []) send(s);
    const cpu = selfCpuMs();
    const done: RoundDone = {
      type: "round_done",
      round: req.round,
      cpu_ms: cpu,
      rss_mb: Deno.memoryUsage().rss / 2 ** 20,
    };
    send(done);
  }
  await runner.close();
  return 0;
}

/** The seam's target of a round request (one host's fields in place). */
function targetOf(req: RoundRequest): Target {
  // Under the known_hosts policy, a host without a file trusts no key:
  // an empty known_hosts file and a key no server has.
  const strict = req.host_key_policy === "known_hosts";
  const knownHosts = req.known_hosts_file ?? (strict ? "/dev/null" : undefined);
  return {
    host: req.host,
    port: req.port,
    user: req.user,
    identityFile: req.identity_file,
    publicKeyFile: req.public_key_file,
    command: req.command,
    knownHostsFile: knownHosts,
    hostKeyBase64: knownHosts
      ? hostKeyFor(knownHosts, req.host, req.port)
      : undefined,
    algorithms: req.algorithms ?? undefined,
    agentSocket: req.auth?.kind === "agent"
      ? req.auth.agent_socket ?? undefined
      : undefined,
  };
}

if (import.meta.main) {
  // What it starts (ssh clients, connection masters) goes with it, on
  // the parent-death signal of a killed benchmark too.
  stopOnEveryExit();
  Deno.exit(await serve(Deno.args[0] ?? ""));
}
