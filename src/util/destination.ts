/**
 * What a host, a user and a port of a target may be. A target comes from a
 * flag or a hosts file, and its host and user reach `ssh` and
 * `ssh-keyscan` command lines: anything that could be read as an option
 * (a leading `-`), or that a shell or ssh's `%` expansion could act on, is
 * refused here, where the target is parsed. (The command lines put `--`
 * before the destination as well, so neither check relies on the other.)
 *
 * @module
 */

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}\$?$/;

/**
 * Why `host` is not a DNS name, an IPv4 address or a bracketed IPv6
 * literal (as a URL's hostname gives it, e.g. `[::1]`); undefined when it
 * is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostProblem } from "./destination.ts";
 * for (const ok of ["localhost", "db-1.example.com", "127.0.0.1", "[::1]", "[fe80::1]", "a."]) {
 *   assert.equal(hostProblem(ok), undefined, ok);
 * }
 * for (const bad of ["-oProxyCommand=x", "a b", "h'", "${IFS}", "%68", "300.1.1.1", "[::g]", "", "a..b", "-h"]) {
 *   assert.ok(hostProblem(bad), bad);
 * }
 * ```
 */
export function hostProblem(host: string): string | undefined {
  if (host.startsWith("[") && host.endsWith("]")) {
    const inner = host.slice(1, -1);
    if (!/^[0-9A-Fa-f:.]+$/.test(inner) || !inner.includes(":")) {
      return "not an IPv6 literal";
    }
    try {
      // The WHATWG parser checks the literal's shape strictly.
      new URL(`http://${host}/`);
      return undefined;
    } catch {
      return "not an IPv6 literal";
    }
  }
  if (host === "") return "empty";
  if (host.startsWith("-")) return "starts with -, like an option";
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length > 253) return "longer than 253 characters";
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) {
    return "not a DNS name, an IPv4 address or a bracketed IPv6 literal (letters, digits, - and _ between dots)";
  }
  if (labels.every((l) => /^\d+$/.test(l))) {
    if (labels.length !== 4 || labels.some((l) => Number(l) > 255)) {
      return "not an IPv4 address";
    }
  }
  return undefined;
}

/**
 * Why `user` is not a login name (letters, digits, `.`, `_`, `-` and `@`,
 * not starting with `-` or `.`, at most 64 characters, an optional
 * trailing `$`); undefined when it is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userProblem } from "./destination.ts";
 * for (const ok of ["me", "ssh-bench", "first.last", "svc_1", "ad@corp", "host$"]) {
 *   assert.equal(userProblem(ok), undefined, ok);
 * }
 * for (const bad of ["-oProxyCommand=x", "-l", "a b", "a'b", "%u", "$(id)", ".x", ""]) {
 *   assert.ok(userProblem(bad), bad);
 * }
 * ```
 */
export function userProblem(user: string): string | undefined {
  if (user === "") return "empty";
  if (user.startsWith("-")) return "starts with -, like an option";
  if (!USER.test(user)) {
    return "not a login name (letters, digits, . _ - @, not starting with . or -, at most 64 characters)";
  }
  return undefined;
}

/**
 * Why `port` is not a TCP port (an integer 1..65535); undefined when it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { portProblem } from "./destination.ts";
 * assert.equal(portProblem(22), undefined);
 * assert.ok(portProblem(0) && portProblem(65536) && portProblem(2.5));
 * ```
 */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? undefined
    : "not a TCP port (1..65535)";
}
