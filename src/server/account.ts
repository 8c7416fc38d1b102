/**
 * The account sessions log in to on the embedded server. As root that is a
 * dedicated account, `ssh-bench`, which `.ci/setup` creates; at run time it
 * is only checked, never created or changed. As another user, sshd runs as
 * that user and sessions log in to it.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { run } from "../util/proc.ts";

/** Account the server logs in when this process runs as root. */
export const BENCH_USER = "ssh-bench";

/** The shell the account must have (no login shell rc files to pay for). */
export const BENCH_SHELL = "/bin/sh";

/** Files a shell may read at login; none may be in the account's home. */
export const RC_FILES = [".profile", ".bashrc", ".bash_profile", ".shrc"];

const FIX =
  "run .ci/setup as root to fix it, or run the benchmark as a non-root user";

/** What {@linkcode accountProblem} looks at, as read from the system. */
export interface AccountFacts {
  /** The account's `getent passwd` line; undefined when it does not exist. */
  passwd: string | undefined;
  /** Its password field from `getent shadow`; undefined when unreadable. */
  password: string | undefined;
  /** Whether its home directory exists. */
  homeExists: boolean;
  /** The {@linkcode RC_FILES} present in its home. */
  rcFiles: string[];
}

/**
 * Why the login account cannot serve the benchmark, as one line naming the
 * fix; undefined when it can. sshd refuses a locked account (password field
 * starting with `!`) when `UsePAM` is off; `*` is fine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accountProblem } from "./account.ts";
 * const passwd = "ssh-bench:x:999:995::/var/lib/ssh-bench:/bin/sh";
 * const ok = { passwd, password: "*", homeExists: true, rcFiles: [] };
 * assert.equal(accountProblem(ok), undefined);
 * assert.match(accountProblem({ ...ok, password: "!" })!, /is locked.*\.ci\/setup/);
 * assert.match(accountProblem({ ...ok, passwd: undefined })!, /does not exist/);
 * ```
 */
export function accountProblem(facts: AccountFacts): string | undefined {
  const who = `the login account ${BENCH_USER}`;
  if (facts.passwd === undefined) {
    return `${who} does not exist: create it with .ci/setup (as root), or run the benchmark as a non-root user`;
  }
  const fields = facts.passwd.trim().split(":");
  const home = fields[5];
  const shell = fields[6];
  if (shell !== BENCH_SHELL) {
    return `${who} has shell ${shell || "(none)"}, not ${BENCH_SHELL}: ${FIX}`;
  }
  if (facts.password?.startsWith("!")) {
    return `${who} is locked (password field "${facts.password}"), which sshd refuses with UsePAM no: ${FIX}`;
  }
  if (!facts.homeExists) {
    return `${who} has no home directory ${home}: ${FIX}`;
  }
  if (facts.rcFiles.length > 0) {
    return `${who} has rc files in ${home} (${
      facts.rcFiles.join(", ")
    }), which every session would pay for: ${FIX}`;
  }
  return undefined;
}

/** Reads the {@linkcode AccountFacts} of {@linkcode BENCH_USER}. */
async function readFacts(): Promise<AccountFacts> {
  const pw = await run("getent", ["passwd", BENCH_USER]);
  if (pw.code !== 0) {
    return {
      passwd: undefined,
      password: undefined,
      homeExists: false,
      rcFiles: [],
    };
  }
  const home = pw.stdout.trim().split(":")[5] ?? "";
  const shadow = await run("getent", ["shadow", BENCH_USER]);
  const password = shadow.code === 0 ? shadow.stdout.split(":")[1] : undefined;
  const present = async (path: string) => {
    try {
      await Deno.lstat(path);
      return true;
    } catch {
      return false;
    }
  };
  const rcFiles: string[] = [];
  for (const rc of RC_FILES) {
    if (await present(`${home}/${rc}`)) rcFiles.push(rc);
  }
  return {
    passwd: pw.stdout,
    password,
    homeExists: home !== "" && await present(home),
    rcFiles,
  };
}

/**
 * The account sessions log in to: {@linkcode BENCH_USER} as root (after
 * checking it), otherwise the current user. Changes nothing on the host.
 * Throws {@linkcode UsageError} when the account is missing or unusable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BENCH_USER, loginUser } from "./account.ts";
 * const user = await loginUser(); // throws if .ci/setup was not run as root
 * assert.ok(Deno.uid() === 0 ? user === BENCH_USER : user.length > 0);
 * ```
 */
export async function loginUser(): Promise<string> {
  if (Deno.uid() !== 0) {
    const r = await run("id", ["-un"]);
    return r.stdout.trim();
  }
  const problem = accountProblem(await readFacts());
  if (problem) throw new UsageError(problem);
  return BENCH_USER;
}
