/**
 * The notebooks run headless on a real Deno kernel, on the fixture run,
 * started as a user starts them (`RUN_DIR=run deno task notebooks --out nb`
 * from the run's folder); their HTML export shows every chart in a
 * browser.
 */
import { assert, assertEquals } from "./assert.ts";
import { VEGALITE_MIME } from "../src/analysis/jupyter.ts";
import { fixture } from "./fixture.ts";
import { denoTask } from "./deno_task.ts";
import { withChromium } from "./report_browser.ts";

// The callbacks given to page.evaluate run in the page, where the DOM is.
// deno-lint-ignore no-explicit-any
declare const document: any;

/** An image the browser shows: its source's length and its sizes. */
interface ShownImage {
  src: string;
  srcLength: number;
  complete: boolean;
  naturalWidth: number;
  width: number;
  height: number;
}

/** The `<img>`s of a local HTML file as headless Chromium lays them out. */
function imagesShown(html: string): Promise<ShownImage[]> {
  return withChromium(async (browser) => {
    const page = await browser.newPage();
    // The export links CDN scripts (require.js, MathJax): never fetched.
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      if (req.url().startsWith("file:") || req.url().startsWith("data:")) {
        req.continue().catch(() => {});
      } else req.abort().catch(() => {});
    });
    await page.setViewport({ width: 1300, height: 900 });
    await page.goto(`file://${html}`, { waitUntil: "load", timeout: 30_000 });
    return await page.evaluate(() =>
      [...document.querySelectorAll("img")].map((img: {
        src: string;
        complete: boolean;
        naturalWidth: number;
        getBoundingClientRect(): { width: number; height: number };
      }) => {
        const r = img.getBoundingClientRect();
        return {
          src: img.src.slice(0, 30),
          srcLength: img.src.length,
          complete: img.complete,
          naturalWidth: img.naturalWidth,
          width: r.width,
          height: r.height,
        };
      })
    );
  });
}

Deno.test("notebooks: every notebook executes from the user's folder; charts show in the HTML export", async () => {
  const here = await Deno.makeTempDir({ prefix: "notebooks-" });
  try {
    await Deno.rename(fixture(), `${here}/run`);
    // Relative, both: the run (as RUN_DIR) and --out, from `here`.
    const r = await denoTask(here, ["notebooks", "--out", "nb"], {
      RUN_DIR: "run",
    });
    assertEquals(r.code, 0, r.stderr);
    const files = r.stdout.trim().split("\n");
    assertEquals(files, [
      `${here}/nb/comparison.ipynb`,
      `${here}/nb/scaling.ipynb`,
    ]);
    let charts = 0;
    let leftOut = 0;
    for (const f of files) {
      const nb = JSON.parse(await Deno.readTextFile(f));
      // deno-lint-ignore no-explicit-any
      const outputs: any[] = [];
      for (const c of nb.cells) {
        if (c.cell_type !== "code") continue;
        assert(
          c.outputs.length > 0,
          `${f}: a cell without output: ${c.source.join("").slice(0, 200)}`,
        );
        outputs.push(...c.outputs);
      }
      for (const o of outputs) {
        assert(o.output_type !== "error", `${f}: ${o.ename}: ${o.evalue}`);
      }
      assert(JSON.stringify(nb).includes("Test CPU"), "used the given run");
      const chartOutputs = outputs.filter((o) => o.data?.[VEGALITE_MIME]);
      charts += chartOutputs.length;
      leftOut += outputs.filter((o) =>
        String(o.text ?? o.data?.["text/plain"] ?? "").includes(
          "This chart is left out",
        )
      ).length;

      // The HTML export, as a reader opens it.
      const html = await new Deno.Command("jupyter", {
        args: ["nbconvert", "--to", "html", f],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(html.success, new TextDecoder().decode(html.stderr));
      const shown = await imagesShown(f.replace(/\.ipynb$/, ".html"));
      const pngs = shown.filter((i) =>
        i.src.startsWith("data:image/png;base64,")
      );
      assertEquals(pngs.length, chartOutputs.length, JSON.stringify(shown));
      for (const img of pngs) {
        assert(img.srcLength > 10_000, `a tiny PNG: ${JSON.stringify(img)}`);
        assert(img.complete && img.naturalWidth > 0, JSON.stringify(img));
        assert(img.width > 100 && img.height > 100, JSON.stringify(img));
      }
      for (const o of chartOutputs) {
        // No SVG: nbconvert's HTML would pick it over the PNG, blank.
        assertEquals(o.data["image/svg+xml"], undefined);
        assert(String(o.data["image/png"]).startsWith("iVBORw0KGgo"));
        // Shown at its 1x size (the PNG is 2x).
        assert(o.metadata["image/png"].width > 100, JSON.stringify(o));
      }
    }
    // The comparison and scaling notebooks show six of the eight charts of
    // this one-host run without failures, and say so for the hosts chart
    // (the failures one is drawn: the fixture has failed sessions).
    assertEquals([charts, leftOut], [6, 1]);
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});
