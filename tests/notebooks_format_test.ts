/**
 * The committed notebooks: every cell formatted as `deno fmt` formats it,
 * and no outputs.
 *
 * `deno fmt` leaves notebooks/ out (deno.json's `fmt.exclude`), because
 * Deno 2.9.6's `deno fmt --check` flags every .ipynb with a Markdown or
 * TypeScript cell with an empty diff: its check compares each cell with
 * the formatter's output, which ends in a newline, while `deno fmt` writes
 * the cell back without it (as Jupyter stores cells), so a file that
 * `deno fmt` has just written still fails `--check` in a fresh clone (on
 * the machine that wrote it, fmt's incremental cache hides that). This
 * test checks the cells the same way, final newline aside.
 */
import { assert, assertEquals } from "./assert.ts";

const DIR = new URL("../notebooks", import.meta.url).pathname;

/** `deno fmt` of `text` as a file with extension `ext`. */
async function formatted(text: string, ext: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--ext=${ext}`, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  assert(out.success, dec.decode(out.stderr));
  return dec.decode(out.stdout);
}

const notebooks = [...Deno.readDirSync(DIR)].map((e) => e.name)
  .filter((n) => n.endsWith(".ipynb")).sort();

Deno.test("notebooks format: the notebooks are there", () => {
  assertEquals(notebooks, ["comparison.ipynb", "scaling.ipynb"]);
});

for (const name of notebooks) {
  Deno.test(`notebooks format: ${name}'s cells are formatted, without outputs`, async () => {
    const nb = JSON.parse(await Deno.readTextFile(`${DIR}/${name}`));
    assertEquals(nb.metadata.language_info.name, "typescript");
    let checked = 0;
    for (const [i, cell] of nb.cells.entries()) {
      const where = `notebooks/${name}, cell ${i + 1} (${cell.cell_type})`;
      const source = Array.isArray(cell.source)
        ? cell.source.join("")
        : cell.source;
      if (cell.cell_type === "code") {
        assertEquals(cell.outputs, [], `${where}: committed with outputs`);
        assertEquals(cell.execution_count, null, `${where}: executed`);
      }
      const ext = { code: "ts", markdown: "md" }[cell.cell_type as string];
      if (!ext) continue;
      assertEquals(
        source,
        (await formatted(source, ext)).replace(/\n$/, ""),
        `${where} is not formatted: run deno fmt --no-config notebooks/`,
      );
      checked++;
    }
    assert(checked >= 5, `${checked} cells`);
  });
}
