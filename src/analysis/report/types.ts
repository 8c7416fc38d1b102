/**
 * The report's content as data, independent of its format (HTML or
 * markdown).
 *
 * @module
 */
import type { ChartCaption, Spec } from "../charts/mod.ts";

/** One summary or comparison row: field name to value. */
export type ReportRow = Record<string, unknown>;

/** A column of a report table. */
export interface TableColumn {
  /** Field name (in `meta.json` or the analysis). */
  key: string;
  /** Header text. */
  label: string;
  /** Unit, empty when none. */
  unit: string;
  /** One-line meaning (from the schema when known). */
  meaning: string;
  /** True for numbers (right-aligned). */
  numeric: boolean;
}

/** A table whose cells are already formatted. */
export interface Table {
  /** Heading. */
  title: string;
  /** Columns, in order. */
  columns: TableColumn[];
  /** Formatted cells, one array per row. */
  rows: string[][];
  /** A sentence under the table, empty when none. */
  note: string;
}

/** One entry of a provenance section: a value, a long text, or sub-entries. */
export interface Field {
  /** Field name in `meta.json`. */
  key: string;
  /** Label shown. */
  label: string;
  /** Short value. */
  text?: string;
  /** Long or multi-line value (shown preformatted). */
  block?: string;
  /** Nested fields. */
  fields?: Field[];
}

/** A provenance section (run, command, machine, versions, ...). */
export interface Section {
  /** Heading. */
  title: string;
  /** Entries. */
  fields: Field[];
}

/** One run of a report. */
export interface ReportRun {
  /** Run folder (relative to the project when inside it). */
  dir: string;
  /** Run id (from meta.json, else the folder name). */
  id: string;
  /** One line: sessions, clients, pool sizes, date, machine. */
  headline: string;
  /** Where the summary comes from. */
  summarySource: "meta.json" | "analysis";
  /** Summary rows per client and pool size. */
  summary: ReportRow[];
  /**
   * Whether the server or the clients bound each pool size's wall times,
   * one sentence; empty without server CPU (an external target).
   */
  bound: string;
  /** Warnings about what the numbers measure, and about the run's state. */
  warnings: string[];
  /** Key figures: each client at the smallest pool, the largest pool all
   * clients reached, and its own largest pool. */
  key: Table;
  /**
   * The run's provenance as the charts' captions state it (date, machine,
   * server; client versions; negotiated algorithms), one line each.
   */
  captionLines: string[];
  /** The full summary, one table per client. */
  tables: Table[];
  /** Provenance sections. */
  provenance: Section[];
}

/** What a run with no session shows instead of its key figures. */
export const NO_FIGURES =
  "No session was recorded: there are no figures to show.";

/** One chart of a report. */
export interface ReportChart {
  /** Chart name (file stem in `charts/`). */
  name: string;
  /** Chart title. */
  title: string;
  /** The caption under the chart: how to read it, and the run's provenance. */
  caption: ChartCaption;
  /** Vega-Lite spec, data inlined. */
  spec: Spec;
}

/** Everything a report shows. */
export interface Report {
  /** Page title. */
  title: string;
  /** Runs, in the order given. */
  runs: ReportRun[];
  /** Charts drawn, in {@linkcode CHART_NAMES} order. */
  charts: ReportChart[];
  /**
   * Why the charts that are not drawn were left out (the run had nothing
   * for them to show), one sentence per reason; empty when all are drawn.
   */
  chartNotes: string[];
  /** Several runs: median total per client and pool size, run by run. */
  compare?: Table;
  /** Several runs: the pool sizes not in every run (none: all alike). */
  coverage?: Table;
  /** Several runs whose parameters differ: what differs, in one line. */
  compareWarning?: string;
  /** The summary columns' units and meanings. */
  legend: TableColumn[];
  /** When the report was made, ISO 8601 UTC. */
  generatedAt: string;
}
