/**
 * The README and `docs/` against the files they point at and the code they
 * describe: every relative link and image resolves (a `#anchor` to a
 * heading of its page), `deno task bench --help` states the defaults the
 * parser applies and the clients the registry has, and the README's client
 * table lists exactly the registry's clients.
 */
import { assert, assertEquals } from "./assert.ts";
import { HELP, parseBenchArgs } from "../src/cli/bench_args.ts";
import { CLIENT_NAMES, loadRunners } from "../src/clients/mod.ts";
import { countSteps, PRESETS } from "../src/run/presets.ts";
import type { RunConfig } from "../src/run/config.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** README.md and every page of docs/, as paths from the root. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(`${ROOT}docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** Markdown without fenced code blocks. */
function withoutFences(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** Markdown without fenced code blocks and inline code spans. */
function prose(md: string): string {
  return withoutFences(md).replace(/`[^`]*`/g, "");
}

/**
 * A heading's anchor as GitHub makes it: lower case, punctuation dropped
 * (letters, digits, `_` and `-` kept), each space a `-`.
 */
function slug(heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings (repeats get `-1`, `-2`, ...). */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  // Inline code in a heading keeps its text (the backticks are dropped).
  for (const m of withoutFences(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of a page's links and images, outside code. */
function links(md: string): string[] {
  return [
    ...prose(md).matchAll(/!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)/g),
  ]
    .map((m) => m[1]);
}

/**
 * Every relative link of `page` (a path from `root`) whose file or heading
 * is missing, with the reason.
 */
function brokenLinks(page: string, root = ROOT): string[] {
  const read = (p: string) => Deno.readTextFileSync(root + p);
  const md = read(page);
  const dir = page.includes("/")
    ? page.slice(0, page.lastIndexOf("/") + 1)
    : "";
  const out: string[] = [];
  for (const target of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split("#", 2);
    const file = path === "" ? page : normalize(dir + decodeURI(path));
    let text: string | undefined;
    try {
      const info = Deno.statSync(root + file);
      if (info.isFile && file.endsWith(".md")) text = read(file);
    } catch {
      out.push(`${page}: ${target}: no file ${file}`);
      continue;
    }
    if (anchor !== undefined) {
      if (text === undefined) {
        out.push(
          `${page}: ${target}: an anchor into a file that is not markdown`,
        );
      } else if (!anchors(text).has(anchor)) {
        out.push(`${page}: ${target}: ${file} has no heading #${anchor}`);
      }
    }
  }
  return out;
}

function readPage(path: string): string {
  return Deno.readTextFileSync(ROOT + path);
}

/** `a/b/../c` -> `a/c`, `./x` -> `x`; a path above the root keeps its `..`. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "." || p === "") continue;
    if (p === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else parts.push(p);
  }
  return parts.join("/");
}

Deno.test("docs: the link checker finds a missing file, a missing heading and code it must skip", () => {
  const root = Deno.makeTempDirSync({ prefix: "ssh-bench-docs-" }) + "/";
  Deno.mkdirSync(`${root}docs`);
  Deno.writeTextFileSync(`${root}README.md`, "# Read me\n");
  Deno.writeTextFileSync(
    `${root}docs/a.md`,
    [
      "# A page",
      "",
      "## Costs that add up",
      "",
      "[ok](#costs-that-add-up) [ok](../README.md) [gone](missing.md)",
      "[bad](#no-such-heading) ![img](../data/none.png) [web](https://x.org/y)",
      "`[code](skipped.md)`",
      "```",
      "[fenced](skipped-too.md)",
      "```",
      "[top](../README.md#read-me) [nope](../README.md#write-me)",
    ].join("\n"),
  );
  try {
    assertEquals(brokenLinks("docs/a.md", root), [
      "docs/a.md: missing.md: no file docs/missing.md",
      "docs/a.md: #no-such-heading: docs/a.md has no heading #no-such-heading",
      "docs/a.md: ../data/none.png: no file data/none.png",
      "docs/a.md: ../README.md#write-me: README.md has no heading #write-me",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("docs: headings get GitHub's anchors", () => {
  assertEquals(
    [...anchors(
      "# The post's headline, in one run\n## `--precision P%`\n## A\n## A\n",
    )],
    ["the-posts-headline-in-one-run", "--precision-p", "a", "a-1"],
  );
});

Deno.test("docs: every relative link and image in README.md and docs/ resolves", () => {
  const all = pages();
  assert(all.length > 5, `expected README.md and the docs pages, got ${all}`);
  const broken = all.flatMap((p) => brokenLinks(p));
  assertEquals(broken, []);
  // Every page of docs/ is reachable from the README.
  const fromReadme = new Set(
    links(readPage("README.md")).map((l) => l.split("#")[0]),
  );
  for (const p of all.slice(1)) {
    assert(fromReadme.has(p), `README.md does not link ${p}`);
  }
});

/** The text of one flag's entry in `--help`, up to the next flag. */
function helpEntry(flag: string): string {
  const start = HELP.indexOf(`\n  ${flag} `);
  assert(start >= 0, `--help has no entry for ${flag}`);
  const rest = HELP.slice(start + 1);
  const next = rest.slice(1).search(/\n {2}(-[a-z-]|--)/);
  return (next < 0 ? rest : rest.slice(0, next + 1)).replace(/\s+/g, " ");
}

/** The names of a comma- or "and"-separated list. */
function names(list: string): string[] {
  return list.split(/,\s*|\s+and\s+/).map((s) => s.trim().split(" ")[0])
    .filter(Boolean);
}

Deno.test("docs: --help lists the registry's clients and the test clients the unknown-client error names", async () => {
  const entry = helpEntry("--clients");
  const listed = entry.match(/clients to run: ([^(]+?)\s*\(default/);
  assert(listed, entry);
  assertEquals(names(listed[1]), [...CLIENT_NAMES]);
  const test = entry.match(/test clients, only by name: (.+)$/);
  assert(test, entry);
  const testClients = [...test[1].matchAll(/([\w-]+) \(/g)].map((m) => m[1]);
  assert(testClients.length > 0, entry);
  let message = "";
  try {
    await loadRunners(["putty"], () => {});
  } catch (e) {
    message = (e as Error).message;
  }
  const m = message.match(/use one or more of: (.+) \(test clients: (.+)\)$/);
  assert(m, message);
  assertEquals(names(m[1]), [...CLIENT_NAMES]);
  assertEquals(names(m[2]), testClients);
});

Deno.test("docs: the defaults --help states are the ones the parser applies", () => {
  const parsed = (...argv: string[]): RunConfig => {
    const c = parseBenchArgs(argv);
    assert(c !== "help");
    return c;
  };
  const none = parsed();
  const defaultOf = (flag: string) => {
    const m = helpEntry(flag).match(/\(default:? ([^;,)]+)/);
    assert(m, `--help states no default for ${flag}: ${helpEntry(flag)}`);
    return m[1].trim();
  };
  assertEquals(defaultOf("--preset"), none.preset);
  assertEquals(Number(defaultOf("--timeout")) * 1000, none.timeoutMs);
  assertEquals(Number(defaultOf("--payload-bytes")), none.payloadBytes);
  assertEquals(Number(defaultOf("--max-failures")), none.maxFailuresPct);
  assertEquals(
    Number(defaultOf("--commands-per-session")),
    none.commandsPerSession,
  );
  // "lean (default: ...)", "go (default: ...)": the word before "(default".
  const before = (flag: string) =>
    helpEntry(flag).match(/ (\w+) \(default/)?.[1];
  assertEquals(before("--server-impl"), none.serverImpl);
  assertEquals(before("--server-profile"), none.serverProfile);
  assertEquals(before("--order"), none.order);
  // The preset's step time and rounds, per preset, and seed's for a --pool
  // run without --preset.
  for (
    const [flag, key] of [
      ["--step-seconds", "stepSeconds"],
      ["--rounds", "minRounds"],
    ] as const
  ) {
    const entry = helpEntry(flag);
    for (const name of Object.keys(PRESETS)) {
      const m = entry.match(new RegExp(`\\b${name} (\\d+(?:\\.\\d+)?)`));
      assert(
        m,
        `${flag}: --help gives no default for preset ${name}: ${entry}`,
      );
      assertEquals(
        Number(m[1]),
        parsed("--preset", name)[key],
        `${flag} ${name}`,
      );
    }
    assertEquals(
      parsed("--pool", "1..3")[key],
      parsed("--preset", "seed")[key],
    );
  }
  assert(
    /seed's without --preset/.test(helpEntry("--pool")),
    helpEntry("--pool"),
  );
});

Deno.test("docs: the README's client table lists exactly the registry's clients", () => {
  const readme = readPage("README.md");
  const table = readme.match(
    /^\| client +\|[^\n]*\n\|[- |]+\|\n((?:\|[^\n]*\n)+)/m,
  );
  assert(table, "README.md has no table whose first column is client");
  const rows = table[1].trim().split("\n").map((r) =>
    r.split("|")[1].trim().replace(/`/g, "")
  );
  assertEquals(rows, [...CLIENT_NAMES]);
});

Deno.test("docs: the README and --help give the quick preset the same duration", () => {
  const about = PRESETS.quick.description.match(/about [^:;,(]+/)?.[0].trim();
  assert(about, PRESETS.quick.description);
  const line = readPage("README.md").split("\n").find((l) =>
    l.includes("deno task bench --preset quick")
  );
  assert(line?.includes(about), `README: ${line}; --help: ${about}`);
});

Deno.test("docs: the README's main job states the seed preset's steps and least time for every registered client", () => {
  const line = readPage("README.md").split("\n").find((l) =>
    /^deno task bench +# the main job/.test(l)
  );
  assert(line, "README.md has no main-job line");
  const m = line.match(/>= ([\d.]+) min: (\d+)-(\d+) steps of >= (\d+) s/);
  assert(m, line);
  const n = CLIENT_NAMES.length;
  const one = countSteps(PRESETS.seed.stages, n);
  // Both best clients scaled above pool 30: the second stage twice.
  const two = one + countSteps(PRESETS.seed.stages.slice(1), 1);
  assertEquals([Number(m[2]), Number(m[3])], [one, two], line);
  assertEquals(Number(m[4]), PRESETS.seed.stepSeconds, line);
  assertEquals(
    Number(m[1]),
    Math.floor(one * PRESETS.seed.stepSeconds / 6) / 10,
    line,
  );
});

/**
 * The files under `src/` a reader could open: every file, less installed
 * packages (`node_modules/`) and what Python compiles (`__pycache__/`,
 * `.pyc`), as paths from `src/`.
 */
function sourceFiles(dir = `${ROOT}src`, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (["node_modules", "__pycache__"].includes(e.name)) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...sourceFiles(`${dir}/${e.name}`, path));
    else if (e.isFile && !e.name.endsWith(".pyc")) out.push(path);
  }
  return out.sort();
}

/**
 * Each folder's entry of docs/architecture.md "Where things are" (a
 * top-level bullet starting with the folder in backticks), by folder.
 */
function folderEntries(md: string): Map<string, string> {
  const section = /^## Where things are\n([\s\S]*?)^## /m.exec(md)?.[1] ?? "";
  const out = new Map<string, string>();
  for (
    const m of section.matchAll(/^- `([\w-]+)\/`[\s\S]*?(?=^- |(?![\s\S]))/gm)
  ) {
    out.set(m[1], m[0]);
  }
  return out;
}

Deno.test("docs: docs/architecture.md names every file under src/ in its folder's entry", () => {
  const entries = folderEntries(readPage("docs/architecture.md"));
  assert(entries.size >= 8, [...entries.keys()].join());
  const missing = sourceFiles().filter((path) => {
    const [folder, ...rest] = path.split("/");
    // A folder's mod.ts re-exports it (the section's first lines say so).
    if (path === "mod.ts" || rest.at(-1) === "mod.ts") return false;
    return !entries.get(folder)?.includes(`\`${rest.join("/")}\``);
  });
  assertEquals(missing, []);
});
