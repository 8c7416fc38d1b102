/**
 * The clients: the seam every client implements, the worker protocol, the
 * runners that drive a client in this process or in a worker, and the
 * registry of client names.
 *
 * @module
 */
export * from "./registry.ts";
export * from "./seam.ts";
export * from "./runner.ts";
