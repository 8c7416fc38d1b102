/**
 * Hostile host entries for the tests (the hardening issue's): names that
 * would run `touch <marker>` in the working folder if a spawned command
 * read them as options, and the check for the marker files.
 */

/** Prefix of every marker file a successful injection would create. */
export const MARK = "PWNED-hostile";

/** Hosts that would run `touch PWNED-hostile-TAG...` if read as options. */
export function hostileHosts(tag: string): string[] {
  const m = `${MARK}-${tag}`;
  return [
    `-oProxyCommand=touch\${IFS}${m}-a`,
    `-oProxyCommand=touch ${m}-b`,
    `-oProxyCommand="touch ${m}-c"`,
    `-oProxyCommand='touch ${m}-d'`,
    `-oProxyCommand=touch\${IFS}${m}-e%h`,
    `-oPermitLocalCommand=yes -oLocalCommand=touch ${m}-f`,
    `-oProxyCommand=sh%20-c%20touch\${IFS}${m}-g`,
    `-F/dev/null`,
    `-f/dev/stdin`,
  ];
}

/** A user name that would run `touch PWNED-hostile-TAG-user` as an option. */
export function hostileUser(tag: string): string {
  return `-oProxyCommand=touch\${IFS}${MARK}-${tag}-user`;
}

/** Marker files left in `dirs` (removed as they are found). */
export function markers(dirs: string[]): string[] {
  const found: string[] = [];
  for (const d of dirs) {
    for (const e of Deno.readDirSync(d)) {
      if (e.name.startsWith(MARK)) {
        found.push(`${d}/${e.name}`);
        Deno.removeSync(`${d}/${e.name}`);
      }
    }
  }
  return found;
}
