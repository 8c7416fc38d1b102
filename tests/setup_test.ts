/**
 * `.ci/setup` installs every Debian package the code and tests need.
 *
 * CI runs on a machine where packages were also installed by hand, so a
 * green run can hide a missing install step. This test scans `src/` and
 * `tests/` for the binaries they spawn or look up and the libraries they
 * load, maps each to its Debian package with `dpkg -S`, and checks that the
 * package is on `.ci/setup`'s `apt-get install` line. Packages every Debian
 * system has (Essential: yes, e.g. coreutils, util-linux) need not be
 * listed. A binary or library that is not on this machine fails the test:
 * then nothing installed it.
 */
import { assert, assertEquals } from "./assert.ts";
import { run, which } from "../src/util/proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SETUP = `${ROOT}.ci/setup`;

/**
 * Calls whose first argument, a string literal, names a binary: the
 * pattern source is written so that it does not match itself.
 */
const BINARY_CALLS: RegExp[] = [
  /new Deno[.]Command[(]\s*"([^"]+)"/g,
  /(?<![\w.$#])run[(]\s*"([^"]+)"/g,
  /(?<![\w.$#])which[(]\s*"([^"]+)"/g,
  /(?<![\w.$#])opensshVersion[(]\s*"([^"]+)"/g,
];
/** Shared libraries loaded by name. */
const LIBRARY_CALLS: RegExp[] = [/Deno[.]dlopen[(]\s*"([^"]+)"/g];
/**
 * Source trees the code builds against, named by a string literal (Go's
 * GOPATH sources from Debian's -dev packages).
 */
const SOURCE_PATHS: RegExp[] = [/"(\/usr\/share\/gocode\/src\/[^"]+)"/g];

/** Packages on every system though not marked Essential. */
const BASE_PACKAGES: Record<string, string> = {
  libc6: "the C library every binary on the system links to",
};

/** Tools that change the host: set-up runs them, library code must not. */
const SETUP_ONLY = ["apt-get", "apt", "dpkg", "useradd", "usermod", "userdel"];

/** Every `.ts` file under `dir` (relative to the repository root). */
function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${d}`)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory && e.name !== "node_modules") walk(p);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Literal first arguments of `calls` in `files`: name -> files using it. */
function literals(files: string[], calls: RegExp[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    const text = Deno.readTextFileSync(`${ROOT}${f}`);
    for (const re of calls) {
      for (const m of text.matchAll(re)) {
        const users = out.get(m[1]) ?? [];
        if (!users.includes(f)) users.push(f);
        out.set(m[1], users);
      }
    }
  }
  return out;
}

/**
 * The packages of `.ci/setup`'s `apt-get install` command(s), with line
 * continuations joined; options, `$VARS` and redirections left out.
 */
export function setupPackages(script: string): Set<string> {
  const out = new Set<string>();
  const text = script.replace(/\\\n/g, " ");
  for (const line of text.split("\n")) {
    const code = line.replace(/#.*$/, "");
    const at = code.search(/\bapt-get\s+(-\S+\s+)*install\b/);
    if (at < 0) continue;
    const words = code.slice(code.indexOf("install", at) + 7).trim()
      .split(/\s+/);
    for (const w of words) {
      if (/^[>|&;<]/.test(w) || /^\d?>/.test(w)) break;
      if (w === "" || w.startsWith("-") || w.startsWith("$")) continue;
      out.add(w.replace(/[:=].*$/, ""));
    }
  }
  return out;
}

/** The package owning `path`, trying the merged-/usr twin too. */
async function owner(path: string): Promise<string | undefined> {
  const real = await Deno.realPath(path).catch(() => path);
  const twins = [path, real].flatMap((p) =>
    p.startsWith("/usr/") ? [p, p.slice(4)] : [p, `/usr${p}`]
  );
  for (const p of new Set(twins)) {
    const r = await run("dpkg", ["-S", p]);
    // Skip "diversion by dash from: /usr/bin/sh" and the like.
    const first = r.stdout.split("\n").find((l) =>
      l.includes(": ") && !l.startsWith("diversion by ")
    );
    if (r.code === 0 && first) {
      // "pkg:arch, other: /path" -> the first package, without the arch.
      return first.slice(0, first.indexOf(": ")).split(",")[0].trim()
        .replace(/:.*$/, "");
    }
  }
  return undefined;
}

/** Path of a shared library by soname, from the loader's cache. */
async function libraryPath(soname: string): Promise<string | undefined> {
  const r = await run(which("ldconfig") ?? "/sbin/ldconfig", ["-p"]);
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\S+) \(.*\) => (\S+)$/.exec(line);
    if (m && m[1] === soname) return m[2];
  }
  return undefined;
}

async function essential(pkg: string): Promise<boolean> {
  const r = await run("dpkg-query", ["-W", "-f=${Essential}", pkg]);
  return r.code === 0 && r.stdout.trim() === "yes";
}

/** One thing the code uses: a binary, a library or a source tree. */
interface Need {
  kind: "binary" | "library" | "source";
  name: string;
  users: string[];
}

/**
 * The lines saying what `.ci/setup` fails to install: a package owning a
 * needed file that is neither on the install line nor on every system, or
 * a needed file that is not on this machine at all.
 */
async function missing(needs: Need[], installed: Set<string>) {
  const out: string[] = [];
  for (const n of needs) {
    const path = n.kind === "binary"
      ? (n.name.includes("/") ? n.name : which(n.name))
      : n.kind === "source"
      ? n.name
      : await libraryPath(n.name);
    const where = `${n.kind} ${n.name} (used in ${n.users.join(", ")})`;
    const exists = path !== undefined &&
      (await Deno.stat(path).then(() => true, () => false));
    if (!exists) {
      out.push(`${where} is not on this machine: nothing installed it`);
      continue;
    }
    const pkg = await owner(path);
    if (pkg === undefined) {
      out.push(`${where}: ${path} belongs to no Debian package`);
    } else if (
      !installed.has(pkg) && !(pkg in BASE_PACKAGES) && !await essential(pkg)
    ) {
      out.push(`${where}: its package ${pkg} is not installed by .ci/setup`);
    }
  }
  return out;
}

function needs(): Need[] {
  const files = [...sources("src"), ...sources("tests")];
  const out: Need[] = [];
  for (const [name, users] of literals(files, BINARY_CALLS)) {
    out.push({ kind: "binary", name, users });
  }
  for (const [name, users] of literals(files, LIBRARY_CALLS)) {
    out.push({ kind: "library", name, users });
  }
  for (const [name, users] of literals(files, SOURCE_PATHS)) {
    out.push({ kind: "source", name, users });
  }
  return out;
}

const DEBIAN = which("dpkg") !== undefined;

Deno.test({
  name:
    "setup: every binary and library the code and tests use is installed by .ci/setup",
  ignore: !DEBIAN,
}, async () => {
  const found = needs();
  // The scan finds what is known to be used today (a scan that finds
  // nothing would pass vacuously).
  for (
    const n of [
      "sshd",
      "ssh-keygen",
      "ssh",
      "setpriv",
      "go",
      "libssh2.so.1",
      "/usr/share/gocode/src/golang.org/x/crypto/ssh",
    ]
  ) {
    assert(found.some((f) => f.name === n), `scan missed ${n}`);
  }
  const installed = setupPackages(await Deno.readTextFile(SETUP));
  assertEquals(await missing(found, installed), []);
});

Deno.test({
  name: "setup: the check fails when .ci/setup leaves a package out",
  ignore: !DEBIAN,
}, async () => {
  const script = await Deno.readTextFile(SETUP);
  assert(setupPackages(script).has("libssh2-1"));
  const without = script.split("\n").map((l) =>
    l.trimStart().startsWith("#") ? l : l.replace(/ libssh2-1\b/, "")
  ).join("\n");
  const problems = await missing(
    needs().filter((n) => n.name === "libssh2.so.1"),
    setupPackages(without),
  );
  assertEquals(problems.length, 1);
  assert(/package libssh2-1 is not installed by .ci\/setup/.test(problems[0]));
  // A source package left out is found too.
  const noGo = script.split("\n").map((l) =>
    l.trimStart().startsWith("#")
      ? l
      : l.replace(/ golang-golang-x-crypto-dev\b/, "")
  ).join("\n");
  const src = await missing(
    needs().filter((n) => n.kind === "source"),
    setupPackages(noGo),
  );
  assertEquals(src.length, 1, src.join("\n"));
  assert(/package golang-golang-x-crypto-dev is not installed/.test(src[0]));
  const ghost = await missing(
    [{ kind: "binary", name: "no-such-tool-xyz", users: ["x.ts"] }],
    setupPackages(script),
  );
  assert(/is not on this machine/.test(ghost[0]), ghost[0]);
});

Deno.test("setup: the install line is parsed as bash reads it", () => {
  const pkgs = setupPackages(
    "# apt-get install commented-out\n$SUDO apt-get install -y -qq --no-install-recommends \\\n  a b-1 \\\n  c >/dev/null\napt-get -q install d:amd64 && echo e\n",
  );
  assertEquals([...pkgs].sort(), ["a", "b-1", "c", "d"]);
});

Deno.test("setup: library code installs nothing and creates no accounts", () => {
  const used = literals(sources("src"), BINARY_CALLS);
  const offending = SETUP_ONLY.filter((b) => used.has(b)).map((b) =>
    `${b} in ${used.get(b)!.join(", ")}`
  );
  assertEquals(offending, [], "host changes belong in .ci/setup");
  const text = sources("src").map((f) => Deno.readTextFileSync(`${ROOT}${f}`))
    .join("\n");
  assert(!/\baptInstall\b/.test(text));
});
