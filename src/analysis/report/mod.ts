/**
 * A run's report: its content as data (`model.ts`, from the tables,
 * provenance, formatting and interactive-chart modules), written as one
 * self-contained HTML page (`page.ts`) or as a markdown post (`post.ts`).
 * Helpers shared between those modules are not re-exported here.
 *
 * @module
 */
export * from "./types.ts";
export {
  cellText,
  describeField,
  formatList,
  formatNumber,
  labelOf,
} from "./format.ts";
export { benchCommand, provenanceSections } from "./provenance.ts";
export {
  compareTable,
  hostTable,
  type RunNoise,
  summaryFromAnalysis,
  summaryTables,
} from "./tables.ts";
export { interactiveSpec } from "./interactive.ts";
export { buildReport } from "./model.ts";
export * from "./page.ts";
export * from "./post.ts";
