/**
 * Tables as text: aligned columns for the terminal ({@linkcode textTable},
 * {@linkcode fitTextTable}) and GitHub-flavoured markdown
 * ({@linkcode markdownTable}). Cells arrive formatted; this module only
 * lays them out.
 *
 * @module
 */

/** One column of a text table. */
export interface TextColumn {
  /**
   * Header text; in terminal tables a `\n` breaks it over several lines
   * (the lines bottom-aligned), in markdown they are joined by a space.
   */
  head: string;
  /** `right` for numbers; `left` (the default) for names. */
  align?: "left" | "right";
  /**
   * Terminal tables wider than their `maxWidth` leave out the columns
   * with the highest `drop` first; columns without one are always kept.
   */
  drop?: number;
}

/** How a terminal table is laid out. */
export interface TextTableOptions {
  /** Spaces between columns (default 2). */
  gap?: number;
  /**
   * Widest line allowed, in characters: columns with a `drop` priority
   * are left out, highest first, until the table fits (see
   * {@linkcode fitTextTable}).
   */
  maxWidth?: number;
}

/** Header lines of each column, padded at the top to the same count. */
function headLines(columns: readonly TextColumn[]): string[][] {
  const split = columns.map((c) => c.head.split("\n"));
  const n = Math.max(1, ...split.map((s) => s.length));
  return Array.from(
    { length: n },
    (_, i) => split.map((s) => s[i - (n - s.length)] ?? ""),
  );
}

function layout(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  gap: number,
): string[] {
  const all = [...headLines(columns), ...rows];
  const widths = columns.map((_, i) =>
    Math.max(0, ...all.map((r) => (r[i] ?? "").length))
  );
  const sep = " ".repeat(gap);
  return all.map((r) =>
    columns.map((c, i) => {
      const cell = r[i] ?? "";
      return c.align === "right"
        ? cell.padStart(widths[i])
        : cell.padEnd(widths[i]);
    }).join(sep).trimEnd()
  );
}

/**
 * A table laid out in aligned columns (left-aligned text, right-aligned
 * numbers, `gap` spaces apart, no trailing spaces), one line per row
 * under the header; with `maxWidth`, as {@linkcode fitTextTable} fits it.
 *
 * @example
 * ```ts
 * import { textTable } from "./text_table.ts";
 * import assert from "node:assert/strict";
 * const text = textTable(
 *   [{ head: "client" }, { head: "median\nms", align: "right" }],
 *   [["ssh2", "38.4"], ["libssh2", "121.0"]],
 * );
 * assert.equal(text, [
 *   "         median",
 *   "client       ms",
 *   "ssh2       38.4",
 *   "libssh2   121.0",
 * ].join("\n"));
 * ```
 */
export function textTable(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  options: TextTableOptions = {},
): string {
  return fitTextTable(columns, rows, options).text;
}

/**
 * {@linkcode textTable}, fitted to `maxWidth`: while a line is wider, the
 * column with the highest `drop` is left out (ties: the rightmost first).
 * Returns the text and the headers of the columns left out (header lines
 * joined by a space), so the caller can say where they are.
 *
 * @example
 * ```ts
 * import { fitTextTable } from "./text_table.ts";
 * import assert from "node:assert/strict";
 * const columns = [{ head: "client" }, { head: "p90 ms", align: "right" as const, drop: 2 },
 *   { head: "rss MiB", align: "right" as const, drop: 1 }];
 * const rows = [["ssh2", "40.1", "88"]];
 * assert.deepEqual(fitTextTable(columns, rows, { maxWidth: 80 }).dropped, []);
 * const narrow = fitTextTable(columns, rows, { maxWidth: 16 });
 * assert.deepEqual(narrow.dropped, ["p90 ms"]);
 * assert.equal(narrow.text, "client  rss MiB\nssh2         88");
 * assert.ok(narrow.text.split("\n").every((l) => l.length <= 16));
 * ```
 */
export function fitTextTable(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  options: TextTableOptions = {},
): { text: string; dropped: string[] } {
  const gap = options.gap ?? 2;
  let kept = columns.map((_, i) => i);
  const dropped: string[] = [];
  for (;;) {
    const lines = layout(
      kept.map((i) => columns[i]),
      rows.map((r) => kept.map((i) => r[i] ?? "")),
      gap,
    );
    const wide = options.maxWidth !== undefined &&
      lines.some((l) => l.length > options.maxWidth!);
    const droppable = kept.filter((i) => columns[i].drop !== undefined);
    if (!wide || droppable.length === 0) {
      return { text: lines.join("\n"), dropped };
    }
    const worst = droppable.reduce((a, b) =>
      columns[b].drop! >= columns[a].drop! ? b : a
    );
    kept = kept.filter((i) => i !== worst);
    dropped.push(columns[worst].head.split("\n").join(" "));
  }
}

/** How a markdown table is written. */
export interface MarkdownTableOptions {
  /**
   * Pad every cell to its column's width (and the rule under the header
   * with as many dashes), so the source reads as a table too; default:
   * cells as they are and `---` rules.
   */
  pad?: boolean;
  /** Applied to every header and cell (e.g. escaping `|`); default: none. */
  escape?: (text: string) => string;
}

/**
 * A table in GitHub-flavoured markdown: a header row, the rule (`---:`
 * for right-aligned columns), one row per line.
 *
 * @example
 * ```ts
 * import { markdownTable } from "./text_table.ts";
 * import assert from "node:assert/strict";
 * const columns = [{ head: "client" }, { head: "median\nms", align: "right" as const }];
 * assert.equal(markdownTable(columns, [["ssh2", "38.4"]]),
 *   "| client | median ms |\n| --- | ---: |\n| ssh2 | 38.4 |");
 * assert.equal(markdownTable([{ head: "column" }, { head: "unit" }], [["`a_ms`", "ms"]], { pad: true }),
 *   "| column | unit |\n| ------ | ---- |\n| `a_ms` | ms   |");
 * const pipes = markdownTable([{ head: "x" }], [["a|b"]], { escape: (s) => s.replaceAll("|", "\\|") });
 * assert.equal(pipes.split("\n")[2], "| a\\|b |");
 * ```
 */
export function markdownTable(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  options: MarkdownTableOptions = {},
): string {
  const esc = options.escape ?? ((s: string) => s);
  const head = columns.map((c) => esc(c.head.split("\n").join(" ")));
  const body = rows.map((r) => columns.map((_, i) => esc(r[i] ?? "")));
  const widths = options.pad
    ? columns.map((_, i) =>
      Math.max(3, head[i].length, ...body.map((r) => r[i].length))
    )
    : undefined;
  const cells = (r: readonly string[]) =>
    `| ${
      r.map((c, i) => {
        if (!widths) return c;
        return columns[i].align === "right"
          ? c.padStart(widths[i])
          : c.padEnd(widths[i]);
      }).join(" | ")
    } |`;
  const rule = columns.map((c, i) => {
    const dashes = "-".repeat(
      widths ? widths[i] - (c.align === "right" ? 1 : 0) : 3,
    );
    return c.align === "right" ? `${dashes}:` : dashes;
  });
  return [cells(head), `| ${rule.join(" | ")} |`, ...body.map(cells)].join(
    "\n",
  );
}
