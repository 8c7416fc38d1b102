/**
 * Clean-up that must happen even when the process quits at once (a second
 * Ctrl-C calls `Deno.exit`, which skips every `finally` still pending):
 * synchronous functions run at the `unload` event, which `Deno.exit` and
 * a normal exit both fire. Whatever is stopped the normal way removes its
 * hook first; the hooks only catch what an early exit cut short. SIGKILL
 * runs nothing: what it leaves, the next run removes (`src/run/stale.ts`).
 *
 * @module
 */

const hooks = new Set<() => void>();
let hooked = false;

/**
 * Runs `fn` (synchronously, once) when the process exits, unless the
 * returned function was called first. A hook that throws does not stop
 * the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { onExit } from "./exit_hooks.ts";
 * const code = `import { onExit } from ${JSON.stringify(import.meta.resolve("./exit_hooks.ts"))};
 * onExit(() => console.log("ran"));
 * const off = onExit(() => console.log("removed"));
 * off();
 * Deno.exit(3);`;
 * const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
 * assert.equal(out.code, 3);
 * assert.equal(new TextDecoder().decode(out.stdout), "ran\n");
 * ```
 */
export function onExit(fn: () => void): () => void {
  if (!hooked) {
    hooked = true;
    globalThis.addEventListener("unload", runExitHooks);
  }
  hooks.add(fn);
  return () => {
    hooks.delete(fn);
  };
}

/** Runs every hook still registered (the `unload` handler). */
export function runExitHooks(): void {
  for (const fn of [...hooks]) {
    hooks.delete(fn);
    try {
      fn();
    } catch {
      // the next hook still runs
    }
  }
}

/**
 * Blocks this thread for `ms` (for waits inside exit hooks, where nothing
 * can be awaited).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleepSync } from "./exit_hooks.ts";
 * const t = performance.now();
 * sleepSync(20);
 * assert.ok(performance.now() - t >= 19);
 * ```
 */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
