/** `deno task` run the way a user runs it, for the tests. */

const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

/**
 * `deno task ARGS` started in `cwd` as a shell would start it: this
 * process's environment (plus `env`) without INIT_CWD, which `deno task`
 * sets only when it is not set yet and which a test under `deno task test`
 * inherits. With `config` (the default), `--config` names the project's
 * deno.json, so `cwd` may be any folder; without it, deno task looks for
 * deno.json from `cwd` up, as when a user is in a folder of the project.
 */
export async function denoTask(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  { config = true }: { config?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const vars = Deno.env.toObject();
  delete vars.INIT_CWD;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...(config ? ["--config", DENO_JSON] : []), ...args],
    cwd,
    env: { ...vars, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
