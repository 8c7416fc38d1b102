/**
 * Looks at a report page as a reader would, in headless Chromium (Debian's
 * `/usr/bin/chromium`, driven by npm `puppeteer-core`; never a downloaded
 * browser): every request that is not a `file:` one is aborted and
 * recorded, console errors are collected, the chart marks drawn are
 * counted, a point of each chart is hovered and its tooltip read, the
 * opacities vega drew the bands, lines and legend symbols with are read
 * from each chart's scenegraph (before and after a click on the first
 * legend entry), the key figures' interval cells are measured in lines,
 * and screenshots can be written: of the page from its top down to the
 * first chart with interval bands, and of one chart's figure alone.
 *
 * `deno run -A tests/report_browser.ts [RUN_DIR]` regenerates the
 * screenshots of a run's report (default: the committed sample run,
 * `data/runs/sample-seed`) with the same code the tests run:
 * `RUN_DIR/report.png` (the page top through the comparison-pool chart,
 * with its translucent bands, nothing hovered) and
 * `RUN_DIR/report-comparison-pool.png` (that chart's figure alone, nothing
 * hovered).
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { which } from "../src/util/proc.ts";

// The callbacks given to page.evaluate run in the page, where the DOM is;
// Deno's types have no DOM, so these names are declared for this module only.
// deno-lint-ignore no-explicit-any
type Dom = any;
declare const document: Dom;
declare const window: Dom;
declare function getComputedStyle(el: Dom): Dom;

/** What a reader's browser saw on a report page. */
export interface PageCheck {
  /** Requests that were not `file:` (all aborted). */
  blocked: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** The page's `data-charts` state: `rendered`, `failed`, or "" if none. */
  state: string;
  /** Mark items drawn, per chart name. */
  marks: Record<string, number>;
  /** Tooltip text shown on hovering a point, per chart that has points. */
  tooltips: Record<string, string>;
  /**
   * Per chart with interval bands (area marks): the opacities drawn, as
   * the page opened and after a click on the first legend entry.
   */
  opacities: Record<string, { shown: Opacities; clicked: Opacities }>;
  /** Lines each key-figures cell with an interval (`a [b, c]`) takes. */
  keyCellLines: number[];
  /** Screenshot written, if asked for. */
  screenshot?: string;
  /**
   * Where the page screenshot ends (its height, px) and the bottom of the
   * chart it was taken through, in page coordinates.
   */
  screenshotExtent?: { height: number; chart: string; chartBottom: number };
  /** The one chart's screenshot written, with its size in px. */
  chartShot?: { path: string; chart: string; width: number; height: number };
}

/** Opacities a chart's marks are drawn with, from its vega scenegraph. */
export interface Opacities {
  /** Each interval band's (area mark item's), by series. */
  bands: Record<string, number[]>;
  /** Each line's (line mark item's), by series. */
  lines: Record<string, number[]>;
  /** Each legend symbol's, by its series. */
  legend: Record<string, number>;
}

/** Options of {@linkcode inspectPage}. */
export interface InspectOptions {
  /**
   * Write a PNG screenshot of the page from its top down to the bottom of
   * `screenshotThrough`, with nothing hovered (no tooltip over a chart).
   */
  screenshot?: string;
  /**
   * The chart the page screenshot reaches down to (default: the first
   * chart drawn with interval bands, else the first chart).
   */
  screenshotThrough?: string;
  /**
   * Write a PNG of one chart's figure (the chart and its caption), with
   * nothing hovered.
   */
  chartShot?: { chart: string; path: string };
  /** Wait for the charts to render (default true). */
  charts?: boolean;
  /** Limit for each wait, ms (default 20000). */
  timeoutMs?: number;
}

/**
 * The Chromium binary, or an error that says how to install it.
 *
 * @throws {Error} when `chromium` is not installed.
 */
export function chromiumPath(): string {
  const path = which("chromium");
  if (!path) {
    throw new Error(
      "chromium not found (Debian's /usr/bin/chromium): run .ci/setup, which installs it",
    );
  }
  return path;
}

/**
 * Starts headless Chromium with a fresh profile and nothing that calls
 * home, runs `fn`, and always closes the browser and removes the profile.
 */
export async function withChromium<T>(
  fn: (browser: Browser) => Promise<T>,
): Promise<T> {
  const executablePath = chromiumPath();
  const profile = await Deno.makeTempDir({ prefix: "ssh-bench-chromium-" });
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir: profile,
      timeout: 30_000,
      args: [
        "--no-sandbox", // root in a container has no user namespaces
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    });
    return await fn(browser);
  } finally {
    await browser?.close().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** Centre of the `index`-th point (symbol item) of a chart, in the viewport. */
function pointCentre(
  page: Page,
  chart: string,
  pick: "first" | "middle",
): Promise<{ x: number; y: number } | null> {
  return page.evaluate(
    (chart: string, pick: string) => {
      const root = document.querySelector(`.chart[data-chart="${chart}"]`);
      const items = [
        ...(root?.querySelectorAll("g.mark-symbol.role-mark > path") ?? []),
      ].filter((p: Dom) => {
        const r = p.getBoundingClientRect();
        const style = getComputedStyle(p);
        return r.width > 0 && Number(p.getAttribute("opacity") ?? 1) > 0 &&
          style.visibility !== "hidden";
      });
      if (!items.length) return null;
      const item = pick === "first" ? items[0] : items[items.length >> 1];
      item.scrollIntoView({ block: "center", inline: "center" });
      const r = item.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    },
    chart,
    pick,
  );
}

/** The tooltip's text once it is visible, or "" when none shows. */
async function tooltipText(page: Page, timeoutMs: number): Promise<string> {
  try {
    await page.waitForSelector("#vg-tooltip-element.visible", {
      visible: true,
      timeout: timeoutMs,
    });
  } catch {
    return "";
  }
  return await page.$eval(
    "#vg-tooltip-element",
    (el: Dom) => String(el.innerText).trim(),
  );
}

/** Hovers a point of `chart` and returns its tooltip text ("" if none). */
async function hover(
  page: Page,
  chart: string,
  pick: "first" | "middle",
): Promise<string | undefined> {
  const at = await pointCentre(page, chart, pick);
  if (!at) return undefined; // no points in this chart
  await page.mouse.move(1, 1);
  await page.mouse.move(at.x + 3, at.y + 3);
  await page.mouse.move(at.x, at.y, { steps: 3 });
  return await tooltipText(page, 3000);
}

/** The opacities of `chart`'s bands, lines and legend symbols as drawn. */
function opacities(page: Page, chart: string): Promise<Opacities> {
  return page.evaluate(async (chart: string) => {
    const view = window.reportViews?.[chart];
    const out: Opacities = { bands: {}, lines: {}, legend: {} };
    if (!view) return out;
    await view.runAsync();
    const add = (to: Record<string, number[]>, key: string, v: number) => {
      (to[key] ??= []).push(v);
    };
    const walk = (mark: Dom) => {
      for (const item of mark?.items ?? []) {
        const opacity = item.opacity ?? 1;
        const series = String(item.datum?.series ?? "");
        if (mark.role === "mark" && mark.marktype === "area") {
          add(out.bands, series, opacity);
        } else if (mark.role === "mark" && mark.marktype === "line") {
          add(out.lines, series, opacity);
        } else if (mark.role === "legend-symbol") {
          out.legend[String(item.datum?.value)] = opacity;
        }
        for (const child of item.items ?? []) walk(child);
      }
    };
    walk(view.scenegraph().root);
    return out;
  }, chart);
}

/** Clicks the first legend symbol of `chart`. */
async function clickFirstLegendEntry(page: Page, chart: string) {
  const at = await page.evaluate((chart: string) => {
    const symbol = document.querySelector(
      `.chart[data-chart="${chart}"] g.role-legend-symbol path`,
    );
    if (!symbol) return null;
    symbol.scrollIntoView({ block: "center" });
    const r = symbol.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, chart);
  if (at) await page.mouse.click(at.x, at.y);
}

/**
 * Opens `path` (a local HTML file) in a new tab of `browser` and reports
 * what it requested, logged, drew and showed on hover.
 */
export async function inspectPage(
  browser: Browser,
  path: string,
  opts: InspectOptions = {},
): Promise<PageCheck> {
  const timeout = opts.timeoutMs ?? 20_000;
  const page = await browser.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  try {
    await page.setViewport({ width: 1100, height: 900, deviceScaleFactor: 1 });
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      if (req.url().startsWith("file:")) {
        req.continue().catch(() => {});
      } else {
        blocked.push(req.url());
        req.abort().catch(() => {});
      }
    });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    const url = new URL(`file://${await Deno.realPath(path)}`).href;
    await page.goto(url, { waitUntil: "load", timeout });
    if (opts.charts !== false) {
      await page.waitForFunction(
        () => document.documentElement.hasAttribute("data-charts"),
        { timeout },
      );
    }
    const state = await page.evaluate(() =>
      document.documentElement.getAttribute("data-charts") ?? ""
    );
    const marks = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll(".chart[data-chart]")].map((el: Dom) => [
          el.getAttribute("data-chart") ?? "",
          el.querySelectorAll("svg g.role-mark > *, canvas").length,
        ]),
      )
    );
    let screenshot: string | undefined;
    let screenshotExtent: PageCheck["screenshotExtent"];
    let chartShot: PageCheck["chartShot"];
    const names = Object.keys(marks);
    if (opts.chartShot && names.includes(opts.chartShot.chart)) {
      // The figure alone, the pointer away from it: no tooltip.
      const { chart, path: shotPath } = opts.chartShot;
      await page.mouse.move(1, 1);
      const figure = await page.$(`#figure-${chart}`);
      if (!figure) throw new Error(`no figure-${chart} on the page`);
      await figure.scrollIntoView();
      const box = await figure.boundingBox();
      await figure.screenshot({ path: shotPath as `${string}.png` });
      chartShot = {
        path: shotPath,
        chart,
        width: Math.round(box?.width ?? 0),
        height: Math.round(box?.height ?? 0),
      };
    }
    if (opts.screenshot && names.length) {
      let through = opts.screenshotThrough;
      if (!through) {
        for (const name of names) {
          if (Object.keys((await opacities(page, name)).bands).length) {
            through = name;
            break;
          }
        }
      }
      through ??= names[0];
      // Tall enough for the page top down to that chart.
      const bottom = await page.evaluate((name: string) => {
        window.scrollTo(0, 0);
        const fig = document.querySelector(`.chart[data-chart="${name}"]`);
        return Math.ceil(
          (fig?.getBoundingClientRect().bottom ?? 900) + window.scrollY,
        );
      }, through);
      await page.setViewport({
        width: 1100,
        height: bottom + 16,
        deviceScaleFactor: 1,
      });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.mouse.move(1, 1);
      await page.screenshot({
        path: opts.screenshot as `${string}.png`,
        type: "png",
        clip: { x: 0, y: 0, width: 1100, height: bottom + 16 },
      });
      screenshot = opts.screenshot;
      screenshotExtent = {
        height: bottom + 16,
        chart: through,
        chartBottom: bottom,
      };
      await page.mouse.move(1, 1);
      await page.setViewport({
        width: 1100,
        height: 900,
        deviceScaleFactor: 1,
      });
    }
    const tooltips: Record<string, string> = {};
    for (const name of names) {
      const text = await hover(page, name, "first");
      if (text !== undefined) tooltips[name] = text;
    }
    const keyCellLines = await page.evaluate(() =>
      [...document.querySelectorAll("#key-figures td.num")]
        .filter((td: Dom) => /\[/.test(td.textContent))
        .map((td: Dom) => {
          const range = document.createRange();
          range.selectNodeContents(td);
          return new Set(
            [...range.getClientRects()].map((r: Dom) => Math.round(r.top)),
          ).size;
        })
    );
    const drawnOpacities: PageCheck["opacities"] = {};
    for (const name of opts.charts === false ? [] : names) {
      const shown = await opacities(page, name);
      if (Object.keys(shown.bands).length === 0) continue;
      await clickFirstLegendEntry(page, name);
      drawnOpacities[name] = { shown, clicked: await opacities(page, name) };
    }
    return {
      blocked,
      errors,
      state,
      marks,
      tooltips,
      opacities: drawnOpacities,
      keyCellLines,
      screenshot,
      screenshotExtent,
      chartShot,
    };
  } finally {
    await page.close().catch(() => {});
  }
}

/**
 * Opens one page in a fresh headless Chromium; see {@linkcode inspectPage}.
 */
export function checkReport(
  path: string,
  opts: InspectOptions = {},
): Promise<PageCheck> {
  return withChromium((b) => inspectPage(b, path, opts));
}

/** The committed sample run. */
export const SAMPLE_DIR: string = new URL(
  "../data/runs/sample-seed",
  import.meta.url,
).pathname;

/**
 * The chart the committed screenshots show: `report.png` reaches down to
 * it, and `report-<name>.png` is its figure alone (the first chart with
 * interval bands).
 */
export const SHOT_CHART = "comparison-pool";

if (import.meta.main) {
  const dir = (Deno.args[0] ?? SAMPLE_DIR).replace(/\/+$/, "");
  const check = await checkReport(`${dir}/report.html`, {
    screenshot: `${dir}/report.png`,
    screenshotThrough: SHOT_CHART,
    chartShot: { chart: SHOT_CHART, path: `${dir}/report-${SHOT_CHART}.png` },
  });
  console.log(JSON.stringify(check, null, 1));
  const bad = check.blocked.length || check.errors.length ||
    check.state !== "rendered";
  Deno.exit(bad ? 1 : 0);
}
