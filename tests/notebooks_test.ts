/** The notebooks run headless on a real Deno kernel, on the fixture run. */
import { assert, assertEquals } from "./assert.ts";
import { executeNotebooks } from "../src/cli/notebooks.ts";
import { VEGALITE_MIME } from "../src/analysis/jupyter.ts";
import { fixture } from "./fixture.ts";

Deno.test("notebooks: every notebook executes; charts carry both MIME types", async () => {
  const run = fixture();
  const out = await Deno.makeTempDir();
  try {
    const files = await executeNotebooks({ out, runDirs: [run] });
    assertEquals(files.map((f) => f.split("/").pop()), [
      "comparison.ipynb",
      "scaling.ipynb",
    ]);
    let charts = 0;
    for (const f of files) {
      const nb = JSON.parse(await Deno.readTextFile(f));
      for (const c of nb.cells) {
        if (c.cell_type !== "code") continue;
        assert(c.outputs.length > 0, `${f}: a cell without output`);
        for (const o of c.outputs) {
          assert(o.output_type !== "error", `${f}: ${o.ename}: ${o.evalue}`);
          if (o.data?.[VEGALITE_MIME]) {
            charts++;
            assert(String(o.data["image/svg+xml"]).includes("<svg"));
          }
        }
      }
      assert(JSON.stringify(nb).includes("Test CPU"), "used the given run");
    }
    assertEquals(charts, 7); // the comparison and scaling notebooks show seven of the eight charts
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(run, { recursive: true });
  }
});
