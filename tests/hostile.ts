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

/**
 * Generated hostile hosts, fuzz-style: `n` entries drawn (with a fixed
 * seed, so a failure can be replayed) from every combination of a lead
 * that makes the entry an option (`-`, or characters a shell or a URL
 * decoder would strip before one), an option of ssh or ssh-keyscan that
 * runs or reads something, a command that would create a marker file,
 * and an encoding (raw, `%`-escaped, quoted). Each would run
 * `touch PWNED-hostile-TAG-<i>` if read as an option.
 */
export function fuzzHosts(tag: string, n: number, seed = 20): string[] {
  const leads = ["-", " -", "\t-", "--", "-- -", "'-", '"-', "\\-", "%2D"];
  const options = [
    "oProxyCommand=",
    "o ProxyCommand ",
    "oProxyCommand ",
    "oLocalCommand=",
    "oPermitLocalCommand=yes -oLocalCommand=",
    "oKnownHostsCommand=",
    "J",
    "W",
    "F",
    "f",
  ];
  const commands = [
    "touch${IFS}M",
    "touch M",
    "sh -c 'touch M'",
    "$(touch M)",
    "`touch M`",
    ";touch M",
    "|touch M",
    "touch${IFS}M%h",
    "touch%20M",
  ];
  const encodings: ((s: string) => string)[] = [
    (s) => s,
    (s) => encodeURIComponent(s),
    (s) => s.replaceAll(" ", "%20"),
    (s) => `"${s}"`,
  ];
  // A small linear congruential generator: the same entries every run.
  let x = seed;
  const pick = <T>(a: readonly T[]): T => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return a[(x >>> 16) % a.length];
  };
  const out = new Set<string>();
  for (let i = 0; out.size < n && i < 50 * n; i++) {
    const marker = `${MARK}-${tag}-${out.size}`;
    const raw = pick(leads) + pick(options) +
      pick(commands).replaceAll("M", marker);
    out.add(pick(encodings)(raw));
  }
  return [...out];
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
