/**
 * A file that lives in this process's memory only (Linux `memfd_create`),
 * reachable by other processes of the same user as
 * `/proc/<pid>/fd/<fd>` while this process lives. Nothing of it is on
 * disk, and the kernel frees it when the process ends, however it ends
 * (SIGKILL included): the place for a decrypted private key.
 *
 * @module
 */

const MFD_CLOEXEC = 1;

function libc() {
  return Deno.dlopen("libc.so.6", {
    memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    fchmod: { parameters: ["i32", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
}

/**
 * An in-memory file with mode 0600.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryFile } from "./memory_file.ts";
 * const f = MemoryFile.create("demo", new TextEncoder().encode("secret\n"));
 * assert.match(f.path, /^\/proc\/\d+\/fd\/\d+$/);
 * assert.equal(Deno.readTextFileSync(f.path), "secret\n");
 * assert.equal(Deno.statSync(f.path).mode! & 0o777, 0o600);
 * assert.match(Deno.readLinkSync(f.path), /^\/memfd:demo/);
 * f.close();
 * assert.throws(() => Deno.statSync(f.path));
 * ```
 */
export class MemoryFile {
  /** The path other processes open it by. */
  readonly path: string;
  readonly #fd: number;
  #open = true;

  private constructor(fd: number) {
    this.#fd = fd;
    this.path = `/proc/${Deno.pid}/fd/${fd}`;
  }

  /** A new in-memory file holding `data` (close-on-exec, mode 0600). */
  static create(name: string, data: Uint8Array): MemoryFile {
    const lib = libc();
    try {
      const fd = lib.symbols.memfd_create(
        new TextEncoder().encode(`${name}\0`),
        MFD_CLOEXEC,
      );
      if (fd < 0) throw new Error("memfd_create failed");
      const f = new MemoryFile(fd);
      try {
        if (lib.symbols.fchmod(fd, 0o600) !== 0) {
          throw new Error("fchmod of the memory file failed");
        }
        // Copy: a slice of a larger buffer cannot be handed over as is.
        const bytes = new Uint8Array(data);
        let off = 0;
        while (off < bytes.length) {
          const n = Number(
            lib.symbols.write(
              fd,
              bytes.subarray(off),
              BigInt(bytes.length - off),
            ),
          );
          if (n <= 0) throw new Error("write to the memory file failed");
          off += n;
        }
        bytes.fill(0);
        return f;
      } catch (e) {
        lib.symbols.close(fd);
        f.#open = false;
        throw e;
      }
    } finally {
      lib.close();
    }
  }

  /** Frees it now (it is freed at exit anyway). Safe to call twice. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    const lib = libc();
    try {
      lib.symbols.close(this.#fd);
    } finally {
      lib.close();
    }
  }
}
