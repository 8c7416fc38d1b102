/**
 * Checks on the embedded sshd of one run only, so that tests stay right
 * while other runs (other test files, other checkouts) have servers of
 * their own on the machine.
 */

/** The embedded server's temp dir of a run, from its meta.json's config. */
export function ownServerDir(runDir: string): string {
  const meta = JSON.parse(Deno.readTextFileSync(`${runDir}/meta.json`));
  // The Go server's config names its payload, in the same folder.
  const go = meta.target?.server_config
    ? JSON.parse(meta.target.server_config).payload_file
    : undefined;
  if (typeof go === "string") return go.replace(/\/[^/]+$/, "");
  const config = String(meta.target?.sshd_config ?? "");
  const m = /^HostKey (\S+)\/[^/\s]+$/m.exec(config);
  if (!m) throw new Error(`${runDir}/meta.json names no embedded server`);
  return m[1];
}

/**
 * Fails unless the run's sshd is gone: no process whose command line names
 * its temp dir (sshd, an `ssh` client given its key), and the dir removed.
 * Waits up to 5 s for processes to exit.
 */
export async function assertOwnServerGone(runDir: string): Promise<void> {
  const dir = ownServerDir(runDir);
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = [];
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
        if (cmd.includes(dir)) {
          left.push(`${e.name}: ${cmd.replace(/\0/g, " ")}`);
        }
      } catch {
        // gone
      }
    }
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (left.length) {
    throw new Error(`processes of ${dir} left:\n${left.join("\n")}`);
  }
  try {
    Deno.statSync(dir);
    throw new Error(`${dir} left behind`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
