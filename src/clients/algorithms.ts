/**
 * What the clients share about algorithm pins ({@linkcode AlgorithmPins})
 * and negotiated algorithms ({@linkcode Negotiated}): the kinds of pin and
 * their names in messages, the check that a client knows every pinned
 * algorithm before it connects, and the MAC of AEAD ciphers.
 *
 * @module
 */
import type { AlgorithmPins } from "./seam.ts";

/** One kind of pin: its key in {@linkcode AlgorithmPins}. */
export type PinKind = keyof AlgorithmPins;

/**
 * Every kind of pin, in the order of the SSH key exchange message, with the
 * word used for it in error messages.
 */
export const PIN_KINDS: readonly { kind: PinKind; label: string }[] = [
  { kind: "kex", label: "kex" },
  { kind: "hostKeyAlgorithms", label: "host key algorithm" },
  { kind: "ciphers", label: "cipher" },
  { kind: "macs", label: "MAC" },
];

/** The MAC OpenSSH reports for an AEAD cipher, which has none of its own. */
export const IMPLICIT_MAC = "<implicit>";

/**
 * Whether `cipher` is an AEAD cipher (AES-GCM, chacha20-poly1305), whose
 * integrity is part of the cipher: the negotiated MAC is then
 * {@linkcode IMPLICIT_MAC}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAead } from "./algorithms.ts";
 * assert.ok(isAead("chacha20-poly1305@openssh.com"));
 * assert.ok(isAead("aes256-gcm@openssh.com"));
 * assert.ok(!isAead("aes128-ctr"));
 * ```
 */
export function isAead(cipher: string): boolean {
  return /-gcm(@|$)|poly1305/.test(cipher);
}

/**
 * The error of a session whose client does not know some pinned
 * algorithms, naming each (`client` is the client and its version, e.g.
 * `libssh2 1.10.0`); undefined when `supports` accepts every pinned name
 * (or nothing is pinned). A kind `supports` cannot tell about (it returns
 * undefined) is left to the client's own error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unsupportedPins } from "./algorithms.ts";
 * const known = new Set(["curve25519-sha256", "aes128-ctr"]);
 * const supports = (_kind: string, name: string) => known.has(name);
 * assert.equal(unsupportedPins("x 1.0", undefined, supports), undefined);
 * assert.equal(
 *   unsupportedPins("x 1.0", { ciphers: ["aes128-ctr"] }, supports),
 *   undefined,
 * );
 * assert.equal(
 *   unsupportedPins("x 1.0", {
 *     kex: ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"],
 *     ciphers: ["chacha20-poly1305@openssh.com"],
 *   }, supports),
 *   "handshake: x 1.0 does not support kex sntrup761x25519-sha512@openssh.com, cipher chacha20-poly1305@openssh.com",
 * );
 * ```
 */
export function unsupportedPins(
  client: string,
  pins: AlgorithmPins | undefined,
  supports: (kind: PinKind, name: string) => boolean | undefined,
): string | undefined {
  if (!pins) return undefined;
  const missing: string[] = [];
  for (const { kind, label } of PIN_KINDS) {
    for (const name of pins[kind] ?? []) {
      if (supports(kind, name) === false) missing.push(`${label} ${name}`);
    }
  }
  return missing.length === 0
    ? undefined
    : `handshake: ${client} does not support ${missing.join(", ")}`;
}
