/**
 * A run's provenance in a report: the command that repeats it and every
 * `meta.json` field, in sections (unknown fields shown generically, so a
 * report never drops what a run recorded).
 *
 * @module
 */
import type { RunMeta } from "../../run/record.ts";
import { shownArgs } from "../../run/replay.ts";
import { describeField, labelOf } from "./format.ts";
import type { Field, ReportRow, Section } from "./types.ts";

/**
 * The `deno task bench` command that repeats a run: the command recorded
 * in `meta.json` when there is one (`command_line` or `argv`), else one
 * rebuilt from the recorded parameters (flags only where they differ from
 * the preset's defaults); `--server-impl openssh` added (`added`) for a
 * run that embedded sshd without naming it (one recorded before
 * `--server-impl` existed, say), so the command runs the same server
 * again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { benchCommand } from "./mod.ts";
 * import { readRecord } from "../../run/record.ts";
 * const meta = readRecord(
 *   new URL("../../../data/runs/sample-seed", import.meta.url).pathname,
 * )!;
 * // The sample run recorded its arguments: none, the default seed run.
 * assert.deepEqual(benchCommand(meta), { text: "deno task bench", recorded: true });
 * // The same arguments recorded by a run on sshd, before --server-impl.
 * assert.deepEqual(benchCommand({ argv: [] } as never), {
 *   text: "deno task bench --server-impl openssh", recorded: true,
 *   added: ["--server-impl", "openssh"] });
 * // An older run without them: rebuilt from its parameters.
 * const older = {
 *   ...meta,
 *   argv: undefined,
 *   parameters: {
 *     ...meta.parameters,
 *     clients: ["ssh2", "libssh2"],
 *     server_profile: "stock" as const,
 *     algorithms: { kex: ["curve25519-sha256"] },
 *   },
 * };
 * assert.equal(
 *   benchCommand(older)?.text,
 *   "deno task bench --preset seed --clients ssh2,libssh2 --server-profile stock --kex curve25519-sha256",
 * );
 * assert.equal(
 *   benchCommand({ ...older, parameters: { ...older.parameters, server_impl: undefined } })?.text,
 *   "deno task bench --preset seed --clients ssh2,libssh2 --server-profile stock --kex curve25519-sha256 --server-impl openssh",
 * );
 * assert.equal(benchCommand({ argv: ["--pool", "1..3"], parameters: { server_impl: "go" } } as never)?.text,
 *   "deno task bench --pool 1..3");
 * ```
 */
export function benchCommand(
  meta: RunMeta,
):
  | { text: string; recorded: boolean; uncovered?: string[]; added?: string[] }
  | undefined {
  const m = meta as ReportRow;
  if (typeof m.command_line === "string") {
    return { text: m.command_line, recorded: true };
  }
  const given = shownArgs(meta);
  if (!given) return undefined;
  const text = ["deno task bench", ...given.args.map(shellWord)].join(" ");
  const added = given.added ? { added: given.added } : {};
  if (given.recorded) return { text, recorded: true, ...added };
  const uncovered = Object.keys(meta.parameters ?? {}).filter((k) =>
    !COMMAND_PARAMS.includes(k)
  );
  return {
    text,
    recorded: false,
    ...(uncovered.length ? { uncovered } : {}),
    ...added,
  };
}

/** Recorded parameters {@linkcode benchCommand} turns into flags. */
const COMMAND_PARAMS = [
  "clients",
  "stages",
  "step_seconds",
  "min_rounds",
  "timeout_ms",
  "command",
  "payload_bytes",
  "server_max_startups",
  "server_profile",
  "algorithms",
];

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Top-level `meta.json` fields given their own place in a report. */
const PLACED = new Set([
  "run_id",
  "status",
  "reason",
  "preset",
  "started_at",
  "ended_at",
  "schema_version",
  "machine",
  "versions",
  "parameters",
  "target",
  "calibration",
  "summary",
  "warnings",
  "command_line",
  "argv",
  "intervals",
]);

/**
 * A run's provenance from its `meta.json`: run, command, machine,
 * versions, then every field this code does not know (a server profile,
 * negotiated algorithms, ...), then parameters, target and calibration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provenanceSections } from "./mod.ts";
 * const s = provenanceSections({
 *   run_id: "r", started_at: "2026-11-25T21:58:45.951Z",
 *   ended_at: "2026-11-25T22:12:47.999Z", machine: { cores: 2 },
 *   server_profile: "lean",
 * } as never);
 * assert.deepEqual(s.map((x) => x.title), ["Run", "Machine", "Server profile"]);
 * assert.equal(s[0].fields.find((f) => f.key === "duration")?.text, "14 min 2 s");
 * assert.equal(s[2].fields[0].text, "lean");
 * ```
 */
export function provenanceSections(meta: RunMeta): Section[] {
  const m = meta as ReportRow;
  const out: Section[] = [];
  const run: Field[] = [
    "run_id",
    "status",
    "reason",
    "preset",
    "started_at",
    "ended_at",
  ]
    .filter((k) => m[k] !== undefined && m[k] !== null)
    .map((k) => describeField(k, m[k]));
  if (meta.started_at && meta.ended_at) {
    const s = Math.round(
      (Date.parse(meta.ended_at) - Date.parse(meta.started_at)) / 1000,
    );
    if (Number.isFinite(s)) {
      run.push({
        key: "duration",
        label: "duration",
        text: s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`,
      });
    }
  }
  if (m.schema_version !== undefined) {
    run.push(describeField("schema_version", m.schema_version));
  }
  if (run.length) out.push({ title: "Run", fields: run });
  const cmd = benchCommand(meta);
  if (cmd) {
    out.push({
      title: "Command",
      fields: [
        {
          key: cmd.recorded ? "command_line" : "parameters",
          label: cmd.recorded ? "command line" : "equivalent command",
          text: cmd.text,
        },
        ...(cmd.added
          ? [{
            key: "added",
            label: "added",
            text: `${
              cmd.added.join(" ")
            }: the run embedded sshd without naming it (runs recorded before --server-impl existed embedded sshd); without it the command would run today's default, the Go server`,
          }]
          : []),
        ...(cmd.uncovered
          ? [{
            key: "uncovered",
            label: "not in the command",
            text: `${
              cmd.uncovered.map(labelOf).join(", ")
            } (see Parameters: the report does not turn them into flags)`,
          }]
          : []),
      ],
    });
  }
  const section = (key: string, title: string) => {
    if (m[key] === undefined || m[key] === null) return;
    const f = describeField(key, m[key]);
    out.push({ title, fields: f.fields ?? [f] });
  };
  section("machine", "Machine");
  section("versions", "Versions");
  for (const key of Object.keys(m)) {
    if (!PLACED.has(key)) {
      const t = labelOf(key);
      section(key, t.charAt(0).toUpperCase() + t.slice(1));
    }
  }
  section("parameters", "Parameters");
  section("target", "Target");
  section("calibration", "Calibration (no-op sessions before the sweep)");
  return out;
}
