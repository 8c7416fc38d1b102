/**
 * Negotiated and pinned algorithms of every client against a real embedded
 * sshd (its default algorithm lists: the pins are the clients' only).
 */
import { assert, assertEquals } from "./assert.ts";
import { loadClients } from "../src/clients/mod.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { timedSession } from "../src/clients/timed.ts";
import type { AlgorithmPins, SshClient } from "../src/clients/seam.ts";
import { isAead } from "../src/clients/algorithms.ts";
import { benchSshdPids } from "./server_helpers.ts";

const clients: SshClient[] = await loadClients(
  ["ssh2", "libssh2", "openssh"],
  (l) => {
    throw new Error(`client missing in the test environment: ${l}`);
  },
);

/** The key exchange each client negotiates by default with OpenSSH 9.2. */
const DEFAULT_KEX: Record<string, RegExp> = {
  ssh2: /^curve25519-sha256(@libssh\.org)?$/,
  libssh2: /^curve25519-sha256(@libssh\.org)?$/,
  // OpenSSH 9's post-quantum default (Debian's 9.2p1 also knows it under
  // OpenSSH 9.9's name without "@openssh.com", and offers that first).
  openssh: /^sntrup761x25519-sha512(@openssh\.com)?$/,
};

/** One session of `client` with `pins`, 20 s at most. */
function session(
  client: SshClient,
  server: EmbeddedServer,
  pins?: AlgorithmPins,
) {
  return timedSession(client, { ...server.target, algorithms: pins }, 20_000);
}

Deno.test({
  name: "algorithms: negotiated by default, pinned, and impossible pins",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
  try {
    await t.step("a default session reports what it negotiated", async () => {
      for (const client of clients) {
        const { outcome } = await session(client, server);
        assertEquals(outcome.status, "ok", `${client.name}: ${outcome.error}`);
        const n = outcome.negotiated;
        assert(n, `${client.name}: no negotiated algorithms`);
        assert(
          DEFAULT_KEX[client.name].test(n.kex),
          `${client.name}: kex ${n.kex}`,
        );
        assertEquals(n.hostKey, "ssh-ed25519", client.name);
        assert(n.cipher.length > 0, client.name);
        assertEquals(
          n.mac === "<implicit>",
          isAead(n.cipher),
          `${client.name}: ${n.cipher} with MAC ${n.mac}`,
        );
      }
    });

    await t.step(
      "a pinned cipher and MAC are the ones negotiated",
      async () => {
        for (const client of clients) {
          const { outcome } = await session(client, server, {
            ciphers: ["aes128-ctr"],
            macs: ["hmac-sha2-256"],
          });
          assertEquals(
            outcome.status,
            "ok",
            `${client.name}: ${outcome.error}`,
          );
          assertEquals(outcome.negotiated?.cipher, "aes128-ctr", client.name);
          assertEquals(outcome.negotiated?.mac, "hmac-sha2-256", client.name);
        }
      },
    );

    await t.step("a pinned key exchange and host-key algorithm", async () => {
      for (const client of clients) {
        const { outcome } = await session(client, server, {
          kex: ["curve25519-sha256"],
          hostKeyAlgorithms: ["ssh-ed25519"],
        });
        assertEquals(outcome.status, "ok", `${client.name}: ${outcome.error}`);
        assertEquals(outcome.negotiated?.kex, "curve25519-sha256");
        assertEquals(outcome.negotiated?.hostKey, "ssh-ed25519");
      }
    });

    await t.step("sntrup761x25519: openssh only", async () => {
      const kex = "sntrup761x25519-sha512@openssh.com";
      for (const client of clients) {
        const { outcome, clock } = await session(client, server, {
          kex: [kex],
        });
        if (client.name === "openssh") {
          assertEquals(outcome.status, "ok", outcome.error);
          assertEquals(outcome.negotiated?.kex, kex);
          continue;
        }
        assertEquals(outcome.status, "connect_error", client.name);
        assertEquals(
          outcome.error,
          `handshake: ${client.name} ${client.version()} does not support kex ${kex}`,
        );
        assertEquals(outcome.negotiated, undefined);
        // Refused before connecting: no phase was reached.
        assertEquals(clock.phases, {}, client.name);
      }
    });

    await t.step(
      "libssh2 1.10 has no chacha20-poly1305 or -etm MAC",
      async () => {
        const libssh2 = clients.find((c) => c.name === "libssh2")!;
        const { outcome } = await session(libssh2, server, {
          ciphers: ["chacha20-poly1305@openssh.com", "aes128-ctr"],
          macs: ["hmac-sha2-256-etm@openssh.com"],
        });
        assertEquals(outcome.status, "connect_error");
        assertEquals(
          outcome.error,
          `handshake: libssh2 ${libssh2.version()} does not support cipher chacha20-poly1305@openssh.com, MAC hmac-sha2-256-etm@openssh.com`,
        );
      },
    );

    await t.step("an unknown name, every client", async () => {
      for (const client of clients) {
        const { outcome } = await session(client, server, {
          macs: ["hmac-nonesuch"],
        });
        assertEquals(outcome.status, "connect_error", client.name);
        assert(
          /^handshake: .+ does not support MAC hmac-nonesuch$/.test(
            outcome.error,
          ),
          `${client.name}: ${outcome.error}`,
        );
      }
    });
  } finally {
    await server.stop();
  }
  assertEquals(benchSshdPids(), []);
});
