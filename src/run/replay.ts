/**
 * Running a run again: the `deno task bench` arguments that repeat it,
 * from its record. A run of this version records the arguments it was
 * given (`argv`); for an older one they are rebuilt from its parameters.
 * `deno task bench --like RUN_DIR` uses them, and the report shows them.
 *
 * @module
 */
import { DEFAULT_PAYLOAD_BYTES } from "../server/payload.ts";
import { DEFAULT_SERVER_IMPL } from "../server/impl.ts";
import { PRESETS } from "./presets.ts";
import type { RunMeta } from "./record.ts";

/**
 * The arguments rebuilt from a record's parameters (for runs that did not
 * record their `argv`); undefined when a stage list cannot be given by
 * flags. An external target's key is not recorded: `--identity KEY`
 * stands for it.
 *
 * @example
 * ```ts
 * import { argsFromParameters } from "./replay.ts";
 * import assert from "node:assert/strict";
 * const args = argsFromParameters({ preset: "seed", parameters: {
 *   clients: ["ssh2"], stages: [{ pools: [1, 2, 3], clients: "all" }], step_seconds: 5,
 *   min_rounds: 1, timeout_ms: 60_000, payload_bytes: 26_000 } } as never);
 * // The seed preset asks for at least 4 rounds; this run had 1.
 * assert.deepEqual(args, ["--preset", "seed", "--clients", "ssh2", "--pool", "1..3", "--rounds", "1"]);
 * ```
 */
export function argsFromParameters(meta: RunMeta): string[] | undefined {
  const p = meta.parameters;
  if (!p || !meta.preset) return undefined;
  const preset = PRESETS[meta.preset];
  const args = ["--preset", meta.preset];
  if (p.clients?.length) args.push("--clients", p.clients.join(","));
  const stages = p.stages ?? [];
  if (
    !preset || JSON.stringify(stages) !== JSON.stringify(preset.stages)
  ) {
    if (stages.every((s) => s.clients === "all")) {
      const pools = stages.flatMap((s) => s.pools);
      const range = pools.length > 2 &&
        pools.every((v, i) => i === 0 || v === pools[i - 1] + 1);
      args.push(
        "--pool",
        range ? `${pools[0]}..${pools.at(-1)}` : pools.join(","),
      );
    } else {
      return undefined; // a stage list no flag can give
    }
  }
  if (p.step_seconds !== undefined && p.step_seconds !== preset?.stepSeconds) {
    args.push("--step-seconds", String(p.step_seconds));
  }
  if (p.min_rounds !== undefined && p.min_rounds !== (preset?.minRounds ?? 1)) {
    args.push("--rounds", String(p.min_rounds));
  }
  if (p.timeout_ms !== undefined && p.timeout_ms !== 60_000) {
    args.push("--timeout", String(p.timeout_ms / 1000));
  }
  if (meta.target?.kind === "external") {
    args.push(
      "--target",
      `ssh://${meta.target.user}@${meta.target.host}:${meta.target.port}`,
      "--identity",
      "KEY",
      "--command",
      p.command ?? meta.target.command ?? "",
    );
  } else if (
    p.payload_bytes !== undefined && p.payload_bytes !== null &&
    p.payload_bytes !== DEFAULT_PAYLOAD_BYTES
  ) {
    args.push("--payload-bytes", String(p.payload_bytes));
  }
  if (p.server_max_startups) {
    args.push("--server-max-startups", p.server_max_startups);
  }
  if (p.server_profile && p.server_profile !== "lean") {
    args.push("--server-profile", p.server_profile);
  }
  const pins = (p.algorithms ?? {}) as Record<string, unknown>;
  for (
    const [key, flag] of [
      ["kex", "--kex"],
      ["ciphers", "--ciphers"],
      ["macs", "--macs"],
      ["hostKeyAlgorithms", "--host-key-algorithms"],
    ]
  ) {
    const v = pins[key];
    if (Array.isArray(v) && v.length) args.push(flag, v.join(","));
  }
  return args;
}

/**
 * The arguments a run was given: those it recorded (`recorded: true`),
 * else rebuilt from its parameters ({@linkcode argsFromParameters});
 * undefined when neither is there.
 *
 * @example
 * ```ts
 * import { givenArgs } from "./replay.ts";
 * import { PRESETS } from "./presets.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(givenArgs({ argv: ["--pool", "1,8"] }), { args: ["--pool", "1,8"], recorded: true });
 * const older = { preset: "seed", parameters: { clients: ["ssh2"], stages: PRESETS.seed.stages } };
 * assert.deepEqual(givenArgs(older), { args: ["--preset", "seed", "--clients", "ssh2"], recorded: false });
 * assert.equal(givenArgs({}), undefined);
 * ```
 */
export function givenArgs(
  meta: RunMeta,
): { args: string[]; recorded: boolean } | undefined {
  const argv: unknown = meta.argv;
  if (Array.isArray(argv)) return { args: argv.map(String), recorded: true };
  const args = argsFromParameters(meta);
  return args && { args, recorded: false };
}

/**
 * The arguments that repeat a run: those it was given
 * ({@linkcode givenArgs}); an embedded-server run keeps its server
 * implementation even when the default changes (runs recorded before
 * `--server-impl` embedded openssh).
 *
 * @example
 * ```ts
 * import { replayArgs } from "./replay.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(replayArgs({ argv: ["--pool", "1,8"] } as never),
 *   ["--pool", "1,8", "--server-impl", "openssh"]);
 * assert.deepEqual(replayArgs({ argv: ["--server-impl", "go"] } as never), ["--server-impl", "go"]);
 * assert.deepEqual(
 *   replayArgs({ argv: ["--pool", "1"], parameters: { server_impl: "go" } } as never),
 *   ["--pool", "1", "--server-impl", "go"],
 * );
 * assert.deepEqual(replayArgs({ argv: ["--target", "ssh://a@h"] } as never), ["--target", "ssh://a@h"]);
 * ```
 */
export function replayArgs(meta: RunMeta): string[] | undefined {
  const args = givenArgs(meta)?.args;
  if (!args) return undefined;
  const external = args.some((a) =>
    a === "--target" || a.startsWith("--target=") || a === "--hosts" ||
    a.startsWith("--hosts=")
  );
  if (external || args.some((a) => /^--server-impl(=|$)/.test(a))) return args;
  return [...args, "--server-impl", meta.parameters?.server_impl ?? "openssh"];
}

/**
 * The arguments a report shows for a run: those it was given
 * ({@linkcode givenArgs}), with `--server-impl` added (`added`) where the
 * run embedded another server than today's default and did not name it:
 * a run recorded before `--server-impl` existed, or one whose sshd-only
 * flags chose openssh, says `--server-impl openssh`, so the command shown
 * runs sshd again, not the Go server. A run on the default server is
 * shown as it was given.
 *
 * @example
 * ```ts
 * import { shownArgs } from "./replay.ts";
 * import assert from "node:assert/strict";
 * // Recorded before --server-impl: it embedded sshd.
 * assert.deepEqual(shownArgs({ argv: [] } as never),
 *   { args: ["--server-impl", "openssh"], recorded: true, added: ["--server-impl", "openssh"] });
 * assert.deepEqual(shownArgs({ argv: [], parameters: { server_impl: "go" } } as never),
 *   { args: [], recorded: true });
 * assert.deepEqual(shownArgs({ argv: ["--server-impl", "openssh"] } as never),
 *   { args: ["--server-impl", "openssh"], recorded: true });
 * assert.deepEqual(shownArgs({ argv: ["--target", "ssh://a@h"] } as never),
 *   { args: ["--target", "ssh://a@h"], recorded: true });
 * assert.equal(shownArgs({}), undefined);
 * ```
 */
export function shownArgs(
  meta: RunMeta,
): { args: string[]; recorded: boolean; added?: string[] } | undefined {
  const given = givenArgs(meta);
  if (!given) return undefined;
  const replay = replayArgs(meta) ?? given.args;
  const added = replay.slice(given.args.length);
  if (added.length === 0 || added.at(-1) === DEFAULT_SERVER_IMPL) return given;
  return { ...given, args: replay, added };
}
