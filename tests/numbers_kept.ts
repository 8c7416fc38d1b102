/**
 * `deno run -A tests/numbers_kept.ts [REV]`: checks that every number of
 * the README at git revision REV (default `d440dc1`, the README before it
 * was split into `docs/`) is still in README.md plus `docs/*.md`, as often
 * as it was. A number is a run of digits with `.` or `,` between digit
 * groups (`44,735`, `0.06`, `2.9.6`) that does not follow a letter, a digit
 * or `_` (so `ssh2`, `x25519` and `sha256` are names, not numbers); a unit
 * after it (`1.19x`, `5s`) does not matter.
 *
 * It prints one line per number found fewer times than before, with the
 * old lines it stood in, and a last line counting the numbers checked and
 * lost. Exit code 0 when none is lost, 1 otherwise.
 *
 * @module
 */

/** The numbers of a text, each with how often it occurs. */
export function numberCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/(?<![\p{L}\p{N}_.])\d+(?:[.,]\d+)*/gu)) {
    counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  return counts;
}

/** One number found fewer times in the new text than in the old. */
export interface Lost {
  /** The number as written. */
  number: string;
  /** Occurrences in the old text. */
  before: number;
  /** Occurrences in the new text. */
  after: number;
}

/**
 * The numbers of `before` that `after` has fewer of, in the order they
 * first appear in `before`.
 *
 * @example
 * ```ts
 * import { lostNumbers } from "./numbers_kept.ts";
 * import assert from "node:assert/strict";
 * const lost = lostNumbers("ssh2 took 35.5 ms, 2x at pool 2", "took 35.5 ms");
 * assert.deepEqual(lost, [{ number: "2", before: 2, after: 0 }]);
 * assert.deepEqual(lostNumbers("1,324 of 5,562", "5,562 and 1,324 and 7"), []);
 * ```
 */
export function lostNumbers(before: string, after: string): Lost[] {
  const a = numberCounts(after);
  return [...numberCounts(before)]
    .map(([number, n]) => ({ number, before: n, after: a.get(number) ?? 0 }))
    .filter((l) => l.after < l.before);
}

async function git(args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, stderr: "inherit" })
    .output();
  if (!out.success) {
    console.error(`error: git ${args.join(" ")} failed`);
    Deno.exit(2);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const rev = Deno.args[0] ?? "d440dc1";
  const root = new URL("..", import.meta.url).pathname;
  const old = await git(["-C", root, "show", `${rev}:README.md`]);
  const docs = [...Deno.readDirSync(`${root}docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  const files = ["README.md", ...docs];
  const now = files.map((f) => Deno.readTextFileSync(`${root}${f}`)).join(
    "\n",
  );
  const lost = lostNumbers(old, now);
  const oldLines = old.split("\n");
  for (const l of lost) {
    const where = oldLines
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => numberCounts(line).has(l.number))
      .map(({ line, i }) => `    ${i + 1}: ${line.trim().slice(0, 110)}`);
    console.log(
      `lost ${l.number}: ${l.before} in ${rev}:README.md, ${l.after} now\n${
        where.join("\n")
      }`,
    );
  }
  console.log(
    `${numberCounts(old).size} distinct numbers (${
      [...numberCounts(old).values()].reduce((s, n) => s + n, 0)
    } in all) in ${rev}:README.md checked against ${
      files.join(", ")
    }: ${lost.length} lost`,
  );
  Deno.exit(lost.length === 0 ? 0 : 1);
}
