/**
 * Building the project's Go programs (one-file `package main` sources: the
 * embedded Go server, the `xcrypto` client worker) on first use: each is
 * built when its binary is missing or older than its source and `go` is
 * installed; `.ci/setup` builds them all. Offline: Go's GOPATH mode
 * against Debian's golang-golang-x-crypto-dev sources in
 * `/usr/share/gocode` (no module download, nothing of them copied here);
 * x/crypto's Debian version is linked in (`-X main.xcryptoVersion`).
 *
 * @module
 */
import { UsageError } from "./errors.ts";
import { ROOT_DIR, shownPath } from "./paths.ts";
import { run, which } from "./proc.ts";

/** One Go program of the project: its source file and its binary. */
export interface GoProgram {
  /** What it is, in messages (`the Go server`). */
  what: string;
  /** Its source file (package main, one file). */
  source: string;
  /** Where it is built (under the git-ignored `build/`). */
  bin: string;
}

/** Where Debian's golang-golang-x-crypto-dev puts its sources. */
export const GOCODE = "/usr/share/gocode";
/** The x/crypto package both programs import (a Debian source package's files). */
export const XCRYPTO_SSH_SOURCE =
  "/usr/share/gocode/src/golang.org/x/crypto/ssh";

/**
 * x/crypto's upstream version from a Debian package version
 * (`1:0.4.0-1` is 0.4.0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamVersion } from "./go_build.ts";
 * assert.equal(upstreamVersion("1:0.4.0-1"), "0.4.0");
 * assert.equal(upstreamVersion("0.14.0-1+b2"), "0.14.0");
 * assert.equal(upstreamVersion(""), "unknown");
 * ```
 */
export function upstreamVersion(debian: string): string {
  const v = debian.trim().replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  return v || "unknown";
}

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch {
    return undefined;
  }
}

/** The environment of `go build`: GOPATH mode, no proxy, no network. */
function goEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/tmp";
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    GO111MODULE: "off",
    GOPATH: GOCODE,
    GOPROXY: "off",
    // Never a toolchain download (Go >= 1.21 would honour GOTOOLCHAIN).
    GOTOOLCHAIN: "local",
    GOFLAGS: "",
    GOCACHE: Deno.env.get("GOCACHE") ?? `${home}/.cache/go-build`,
  };
}

/**
 * Path of an up-to-date binary of `program`, building it first when it is
 * missing or older than its source. Throws {@linkcode UsageError} naming
 * `.ci/setup` when it must be built and `go` or x/crypto's sources are
 * missing, or the build fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureGoBinary } from "./go_build.ts";
 * import { XCRYPTO_WORKER } from "../clients/xcrypto.ts";
 * const bin = await ensureGoBinary(XCRYPTO_WORKER);
 * assert.match(bin, /\/build\/ssh-bench-xcrypto$/);
 * assert.ok(Deno.statSync(bin).mtime! >= Deno.statSync(XCRYPTO_WORKER.source).mtime!);
 * ```
 */
export async function ensureGoBinary(program: GoProgram): Promise<string> {
  const { what, source } = program;
  const src = await mtime(source);
  const bin = await mtime(program.bin);
  if (bin !== undefined && (src === undefined || bin >= src)) {
    return program.bin;
  }
  const shown = `${what} ${shownPath(program.bin)}`;
  const why = bin === undefined
    ? "is not built"
    : `is older than ${shownPath(source)}`;
  if (!which("go")) {
    throw new UsageError(
      `${shown} ${why} and go is not installed: run .ci/setup (installs golang-go and golang-golang-x-crypto-dev, and builds it)`,
    );
  }
  try {
    await Deno.stat(XCRYPTO_SSH_SOURCE);
  } catch {
    throw new UsageError(
      `${shown} ${why} and golang.org/x/crypto is not in ${GOCODE}: run .ci/setup (installs golang-golang-x-crypto-dev)`,
    );
  }
  const pkg = await run("dpkg-query", [
    "-W",
    "-f=${Version}",
    "golang-golang-x-crypto-dev",
  ]);
  const version = upstreamVersion(pkg.code === 0 ? pkg.stdout : "");
  await Deno.mkdir(`${ROOT_DIR}build`, { recursive: true });
  // Built under a temporary name, then renamed: a concurrent run sees the
  // old binary or the new one, never half of one.
  const tmp = `${program.bin}.${Deno.pid}.tmp`;
  const out = await new Deno.Command("go", {
    args: [
      "build",
      "-trimpath",
      "-ldflags",
      `-X main.xcryptoVersion=${version}`,
      "-o",
      tmp,
      source,
    ],
    clearEnv: true,
    env: goEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    await Deno.remove(tmp).catch(() => {});
    const err = new TextDecoder().decode(out.stderr).trim().split("\n");
    throw new UsageError(
      `building ${what} failed (go build ${
        shownPath(source)
      }, GOPATH=${GOCODE}): ${
        err.find((l) => /\.go:\d+/.test(l)) ?? err[0]
      }; run .ci/setup`,
    );
  }
  await Deno.rename(tmp, program.bin);
  return program.bin;
}
