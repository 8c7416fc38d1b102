/**
 * `deno task bench` as a child process of a test, its output read as it
 * comes (so that a long run never blocks on a full pipe), with waits for
 * what it has done so far.
 */
import { descendants } from "../src/util/proc.ts";

const BENCH = new URL("../src/cli/bench.ts", import.meta.url).pathname;

/**
 * `args` with `--server-impl openssh` added when they choose no server:
 * the fault and clean-up tests that use this child are written against
 * sshd's process tree (listener, per-connection processes, masters); the
 * Go server's own are in go_server_test.ts.
 */
export function onSshd(args: readonly string[]): string[] {
  const chosen = args.some((a) =>
    /^--(server-impl|target|hosts|like)(=|$)/.test(a)
  );
  return chosen ? [...args] : [...args, "--server-impl", "openssh"];
}

/** A running bench CLI. */
export class BenchChild {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<unknown>;

  /** `env` is added to this process's environment. */
  constructor(args: string[], o: { env?: Record<string, string> } = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BENCH, ...onSshd(args)],
      env: o.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (
      s: ReadableStream<Uint8Array>,
      to: "stdout" | "stderr",
    ) => {
      const dec = new TextDecoder();
      for await (const chunk of s) this[to] += dec.decode(chunk);
    };
    this.#done = Promise.all([
      read(this.child.stdout, "stdout"),
      read(this.child.stderr, "stderr"),
    ]);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Command lines of its descendants now. */
  processes(): { pid: number; cmd: string }[] {
    return descendants(this.pid).map((pid) => {
      try {
        return {
          pid,
          cmd: Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll(
            "\0",
            " ",
          ),
        };
      } catch {
        return { pid, cmd: "" };
      }
    });
  }

  /** Waits for its exit; its code and all it printed. */
  async exit(): Promise<{ code: number; stdout: string; stderr: string }> {
    const s = await this.child.status;
    await this.#done;
    return { code: s.code, stdout: this.stdout, stderr: this.stderr };
  }

  /** Kills it (if still running) and waits. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch {
      // gone
    }
    await this.exit();
  }
}

/**
 * Waits until `cond()` holds, calling `each` on every try; throws naming
 * `what` after `ms`.
 */
export async function until(
  what: string,
  cond: () => boolean,
  o: { ms?: number; each?: () => void; child?: BenchChild } = {},
): Promise<void> {
  const deadline = performance.now() + (o.ms ?? 60_000);
  for (;;) {
    o.each?.();
    if (cond()) return;
    if (performance.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${
          o.child ? `; its stderr:\n${o.child.stderr}` : ""
        }`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Data rows of a CSV file so far (0 while it is missing). */
export function csvRows(path: string): number {
  try {
    return Deno.readTextFileSync(path).trim().split("\n").length - 1;
  } catch {
    return 0;
  }
}
