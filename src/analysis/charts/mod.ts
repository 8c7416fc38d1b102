/**
 * The charts: one Vega-Lite spec builder per chart, with their data
 * inlined so a spec can be re-rendered or embedded anywhere, and what they
 * share (the spec type, colours, captions). Widths suit a blog (~800 px).
 *
 * @module
 */
export * from "./spec.ts";
export * from "./caption.ts";
export * from "./comparison_time.ts";
export * from "./comparison_pool.ts";
export * from "./scaling.ts";
export * from "./efficiency.ts";
export * from "./failures.ts";
export * from "./distribution.ts";
export * from "./rtt.ts";
export * from "./hosts.ts";
