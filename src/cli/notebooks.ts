/**
 * Entry point of `deno task notebooks`: installs the Deno Jupyter kernel if
 * needed and executes every notebook in notebooks/ headless with
 * `jupyter nbconvert --execute`, failing on any cell error. Executed copies
 * go to data/notebooks/ (or `--out DIR`); the notebooks in git stay without
 * outputs. The run folders (arguments, or `RUN_DIR` a,b,...) and `--out`
 * are the user's paths: relative ones are resolved against the folder the
 * command was run from, and the kernel (which runs in notebooks/) gets
 * them absolute.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { run, which } from "../util/proc.ts";
import { runMain } from "./main.ts";
import { ROOT_DIR, userPath } from "../util/paths.ts";
import { UsageError } from "../util/errors.ts";
import { isRunDir } from "../run/run_dir.ts";

const ROOT = ROOT_DIR;

/**
 * Executes the notebooks; returns the paths of the executed copies.
 * Throws with nbconvert's last error lines when a cell fails. Relative
 * paths are taken from this process's working folder.
 *
 * @example
 * ```ts ignore
 * import { executeNotebooks } from "./notebooks.ts";
 * const files = await executeNotebooks({ out: "/tmp/nb" });
 * ```
 */
export async function executeNotebooks(
  opts: { out?: string; runDirs?: string[] } = {},
): Promise<string[]> {
  if (!which("jupyter")) {
    throw new Error(
      "jupyter not found: install jupyter-nbconvert python3-nbclient jupyter-notebook (apt-get) or run .ci/setup",
    );
  }
  const kernels = `${
    Deno.env.get("HOME")
  }/.local/share/jupyter/kernels/deno/kernel.json`;
  try {
    await Deno.stat(kernels);
  } catch {
    const r = await run(Deno.execPath(), ["jupyter", "--install"]);
    if (r.code !== 0) {
      throw new Error(`deno jupyter --install failed: ${r.stderr.trim()}`);
    }
  }
  const out = resolve(opts.out ?? `${ROOT}data/notebooks`);
  await Deno.mkdir(out, { recursive: true });
  const files: string[] = [];
  const env: Record<string, string> = {};
  // The kernel's working folder is notebooks/: it gets absolute paths.
  if (opts.runDirs?.length) {
    env.RUN_DIR = opts.runDirs.map((d) => resolve(d)).join(",");
  }
  const names = [...Deno.readDirSync(`${ROOT}notebooks`)].map((e) => e.name)
    .filter((n) => n.endsWith(".ipynb")).sort();
  for (const name of names) {
    const r = await run("jupyter", [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.timeout=600",
      "--ExecutePreprocessor.kernel_name=deno",
      "--output-dir",
      out,
      `${ROOT}notebooks/${name}`,
    ], { env });
    if (r.code !== 0) {
      const tail = r.stderr.trim().split("\n").slice(-12).join("\n");
      throw new Error(`notebook ${name} failed:\n${tail}`);
    }
    files.push(`${out}/${name}`);
  }
  return files;
}

if (import.meta.main) {
  Deno.exit(
    await runMain(async () => {
      let parsed;
      try {
        parsed = parseArgs({
          args: Deno.args,
          allowPositionals: true,
          options: { out: { type: "string" } },
        });
      } catch (e) {
        throw new UsageError(
          `${
            (e as Error).message.split("\n")[0]
          }; use deno task notebooks [--out DIR] [RUN_DIR ...]`,
        );
      }
      const { values, positionals } = parsed;
      const given = positionals.length
        ? positionals
        : Deno.env.get("RUN_DIR")?.split(",").filter(Boolean) ?? [];
      const runDirs = given.map((d) => userPath(d));
      // A wrong folder: one line now, not a failed cell in the kernel.
      for (const d of runDirs) {
        if (!isRunDir(d)) {
          throw new UsageError(
            `${d} is not a run folder (no sessions.csv); give folders written by deno task bench, e.g. deno task notebooks data/runs/sample-seed`,
          );
        }
      }
      try {
        const files = await executeNotebooks({
          out: values.out === undefined ? undefined : userPath(values.out),
          runDirs,
        });
        for (const f of files) console.log(f);
        return 0;
      } catch (e) {
        // The whole message: it carries nbconvert's last lines.
        console.error(`error: ${(e as Error).message}`);
        return 1;
      }
    }),
  );
}
