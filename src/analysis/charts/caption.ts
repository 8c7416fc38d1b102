/**
 * What a chart says about where it was measured: the short setting of its
 * subtitle and the provenance of its caption, from the run's meta.json.
 *
 * @module
 */
import type { RunMeta } from "../../run/record.ts";
import { type Spec } from "./spec.ts";

/**
 * A run's provenance as a chart's caption states it, from its meta.json:
 * date, machine, Deno, server; client versions; negotiated algorithms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provenanceLines } from "./mod.ts";
 * assert.deepEqual(
 *   provenanceLines({
 *     started_at: "2026-11-25T20:00:00Z",
 *     machine: { cores: 2, cpu_model: "X" },
 *   }),
 *   ["2026-11-25 · 2 cores X"],
 * );
 * ```
 */
export function provenanceLines(meta: RunMeta): string[] {
  const v: RunMeta["versions"] = meta.versions ?? {};
  const m: RunMeta["machine"] = meta.machine ?? {};
  const clients = Object.entries(v.clients ?? {}).map(([k, x]) => `${k} ${x}`)
    .join(", ");
  const machine = [
    meta.started_at ? String(meta.started_at).slice(0, 10) : undefined,
    m.cores ? `${m.cores} cores ${m.cpu_model ?? ""}`.trim() : undefined,
    v.deno ? `Deno ${v.deno}` : undefined,
    (v.server ?? v.openssh_server)
      ? `${fleet(meta)}server ${v.server ?? v.openssh_server}${
        meta.target?.kind !== "embedded"
          ? ""
          : meta.parameters?.server_rtt_ms
          ? ` with RTTs of ${meta.parameters.server_rtt_ms.join(", ")} ms`
          : meta.parameters?.rtt_ms
          ? ` behind an emulated RTT of ${meta.parameters.rtt_ms.join(", ")} ms`
          : " on loopback"
      }${
        meta.target?.server_profile
          ? `, ${meta.target.server_profile.name} profile`
          : ""
      }`
      : undefined,
  ].filter(Boolean).join(" · ");
  return [
    machine,
    clients ? `clients: ${clients}` : "",
    ...negotiatedLines(meta.negotiated ?? {}),
  ].filter(Boolean);
}

/** "4 x " for a fleet of embedded servers, "" for one. */
function fleet(meta: RunMeta): string {
  const k = meta.parameters?.servers ?? 1;
  return k > 1 ? `${k} x ` : "";
}

/** Key exchange and cipher per client, grouped: "kex: a (ssh2, libssh2), ...". */
function negotiatedLines(
  negotiated: Record<string, { kex: string; cipher: string } | null>,
): string[] {
  const group = (key: "kex" | "cipher") => {
    const by = new Map<string, string[]>();
    for (const [client, n] of Object.entries(negotiated)) {
      if (n) by.set(n[key], [...(by.get(n[key]) ?? []), client]);
    }
    return [...by].map(([alg, cs]) => `${alg} (${cs.join(", ")})`).join(", ");
  };
  const kex = group("kex");
  return kex ? [`kex: ${kex}`, `cipher: ${group("cipher")}`] : [];
}

/**
 * Where a run measured, in a few words for a subtitle: the server (embedded
 * Go server or sshd, a fleet of them, or external hosts), the network
 * (loopback or the emulated RTTs) and the cores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setting } from "./mod.ts";
 * assert.equal(
 *   setting({
 *     target: { kind: "embedded" },
 *     parameters: { server_impl: "go" } as never,
 *     machine: { cores: 2 },
 *   }),
 *   "embedded Go server, loopback, 2 cores",
 * );
 * assert.equal(
 *   setting({
 *     target: { kind: "embedded" },
 *     versions: { openssh_server: "OpenSSH_9.2" } as never,
 *     parameters: { servers: 4, server_rtt_ms: [0, 0, 50, 200] } as never,
 *   }),
 *   "4 embedded sshd servers, RTTs of 0, 0, 50, 200 ms",
 * );
 * assert.equal(setting({}), "");
 * ```
 */
export function setting(meta: RunMeta): string {
  const p = meta.parameters ?? {};
  const v: RunMeta["versions"] = meta.versions ?? {};
  const kind = meta.target?.kind;
  const parts: string[] = [];
  if (kind === "embedded") {
    const go = p.server_impl === "go" || /^Go\b/.test(String(v.server ?? ""));
    const name = go ? "Go server" : "sshd";
    const k = p.servers ?? 1;
    parts.push(
      k > 1
        ? `${k} embedded ${go ? "Go" : "sshd"} servers`
        : `embedded ${name}`,
    );
    parts.push(
      p.server_rtt_ms
        ? `RTTs of ${p.server_rtt_ms.join(", ")} ms`
        : p.rtt_ms
        ? `emulated RTT of ${p.rtt_ms.join(", ")} ms`
        : "loopback",
    );
  } else if (kind === "external") {
    const n = meta.hosts?.length ?? 1;
    parts.push(n > 1 ? `${n} external hosts` : "external host");
  }
  if (meta.machine?.cores) parts.push(`${meta.machine.cores} cores`);
  return parts.join(", ");
}

/**
 * What a chart says under itself, kept in its spec as `usermeta.caption`:
 * the report prints it under the chart, and the SVG and PNG end with it.
 */
export interface ChartCaption {
  /** How to read the chart: what is drawn and how it was computed. */
  note: string;
  /** The run's provenance ({@linkcode provenanceLines}). */
  provenance: string[];
}

/**
 * A chart's caption from its spec (undefined for a spec without one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartCaption, efficiencyChart } from "./mod.ts";
 * import pl from "nodejs-polars";
 * const spec = efficiencyChart(pl.DataFrame({ series: [] }), {
 *   started_at: "2026-11-25T20:00:00Z",
 * });
 * assert.deepEqual(chartCaption(spec)?.provenance, ["2026-11-25"]);
 * assert.equal(chartCaption({ mark: "point" }), undefined);
 * ```
 */
export function chartCaption(spec: Spec): ChartCaption | undefined {
  const c = spec?.usermeta?.caption;
  return c && typeof c.note === "string" && Array.isArray(c.provenance)
    ? { note: c.note, provenance: c.provenance.map(String) }
    : undefined;
}
