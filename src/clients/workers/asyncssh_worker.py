#!/usr/bin/python3
"""The `asyncssh` client worker: asyncssh (pure Python SSH on asyncio), all
sessions of a round started together as tasks on one event loop.

Speaks the worker protocol of src/clients/protocol.ts on stdin/stdout. Run
with Debian's /usr/bin/python3 (python3-asyncssh); a missing library is one
line on stderr naming the package, and exit code 3.

A session: asyncssh.connect with the key (no agent, no OpenSSH config, no
GSS), host key checked against known_hosts; the TCP connect ends when
asyncssh's connection_made reaches the client object (asyncssh sets
TCP_NODELAY there) -> connect mark; connect() returns once authenticated
-> auth mark; create_process (channel open, exec accepted) -> exec mark;
stdout read line by line to EOF -> read mark; exit status, channel closed
-> close mark (the connection still open);
K > 1: the command again K - 1 times, each on a new channel of the same
connection (reexec_ms); connection closed -> disconnect mark. The whole session
is bounded by asyncio.wait_for.

A fleet (protocol 2, the request's `hosts`): session n goes to host
(n - 1) % len(hosts), with that host's address, account, key and
known_hosts file; each host's key and known hosts are read once per round.
"""

import asyncio
import os
import re
import sys

# worker_common sits next to this file (also under python3 -I); no
# __pycache__ is written into the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

CLIENT = "asyncssh"

asyncssh = wc.import_or_exit(CLIENT, "asyncssh", "python3-asyncssh")

from asyncssh import encryption, kex, mac, public_key  # noqa: E402

VERSION = asyncssh.__version__
LABEL = "asyncssh %s" % VERSION


def _names(algs):
    return {a.decode("ascii") for a in algs}


SUPPORTED = {
    "kex": _names(kex.get_kex_algs()),
    "ciphers": _names(encryption.get_encryption_algs()),
    "macs": _names(mac.get_mac_algs()),
    "hostKeyAlgorithms": _names(
        public_key.get_public_key_algs()
        + public_key.get_certificate_algs()
        + public_key.get_x509_certificate_algs()
    ),
}

# asyncssh's connect option for each kind of pin (exact lists, in order).
PIN_OPTIONS = {
    "kex": "kex_algs",
    "ciphers": "encryption_algs",
    "macs": "mac_algs",
    "hostKeyAlgorithms": "server_host_key_algs",
}


def read_key(path):
    """(key, None), or (None, the session error it causes)."""
    try:
        return asyncssh.read_private_key(path), None
    except (OSError, asyncssh.KeyImportError) as e:
        return None, ("auth_error", "auth: %s" % wc.os_error(e))


def read_known_hosts(path):
    """(known hosts, None), or (None, the session error it causes)."""
    try:
        return asyncssh.read_known_hosts(path), None
    except (OSError, ValueError) as e:
        return None, ("connect_error", "known_hosts: %s" % wc.os_error(e))


class Round:
    """What every session of one host of a round shares (a round without a
    fleet has one host): the request with that host's fields, the key, the
    known hosts and the connect options. Each is read once per round:
    `files` is the round's memo, shared by its hosts (wc.once)."""

    def __init__(self, request, t0, files=None):
        files = {} if files is None else files
        self.request = request
        self.t0 = t0
        self.error = None  # (status, message) that fails every session
        pins = request.get("algorithms")
        unsupported = wc.unsupported_pins(LABEL, pins, SUPPORTED)
        if unsupported:
            self.error = ("connect_error", unsupported)
            return
        agent = wc.agent_socket(request)
        key = None
        if not agent:
            path = request["identity_file"]
            key, self.error = wc.once(files, ("key", path), lambda: read_key(path))
            if self.error:
                return
        known_hosts = None
        if request["host_key_policy"] == "known_hosts":
            path = request["known_hosts_file"]
            if path is None:
                # A fleet host without a known_hosts file: refused, never
                # any key.
                self.error = (
                    "connect_error",
                    "known_hosts: no file for %s:%d"
                    % (request["host"], request["port"]),
                )
                return
            known_hosts, self.error = wc.once(
                files, ("known_hosts", path), lambda: read_known_hosts(path)
            )
            if self.error:
                return
        timeout_s = request["timeout_ms"] / 1000
        self.options = dict(
            username=request["user"],
            # With an agent: () (None would turn the agent off); the
            # agent's keys are tried first.
            client_keys=[key] if key is not None else (),
            known_hosts=known_hosts,  # None: accept any host key
            agent_path=agent,
            config=None,  # no ~/.ssh/config
            gss_host=None,  # no GSS key exchange or auth
            # asyncssh's own login timeout follows the session's, so the
            # session timeout alone decides.
            login_timeout=timeout_s,
        )
        for kind, names in (pins or {}).items():
            if names and kind in PIN_OPTIONS:
                self.options[PIN_OPTIONS[kind]] = list(names)


class Marker(asyncssh.SSHClient):
    """asyncssh's client object for one session: the TCP connection is up
    when asyncssh hands it the new connection."""

    def __init__(self, s, held):
        self._s = s
        self._held = held

    def connection_made(self, conn):
        self._held.conn = conn
        self._s.mark("connect")


class Held:
    conn = None


async def run_command(conn, command, s, first):
    """One command on a new channel: exec, stdout read line by line to EOF,
    exit status, channel closed. Marks exec and read for the first command.
    Returns the exit code (None when none came)."""
    s.phase = "exec"
    # stderr is not counted: discarded as it comes (DEVNULL). Left unread
    # in a pipe, it would fill the channel's window and stall stdout.
    proc = await conn.create_process(
        command, encoding=None, stderr=asyncssh.DEVNULL
    )
    try:
        if first:
            s.mark("exec")
        else:
            s.phase = "read"
        # readline until EOF (b""); asyncssh 2.10's `async for` over the
        # reader yields that final b"" as one more line.
        readline = proc.stdout.readline
        while True:
            line = await readline()
            if not line:
                break
            if first:
                s.line(line)
        if first:
            s.mark("read")
        else:
            s.phase = "close"
        await proc.wait_closed()
        if proc.exit_signal:
            s.fail("killed by signal %s" % proc.exit_signal[0])
            return None
        s.exit_status(proc.exit_status)
        return proc.exit_status
    finally:
        proc.close()


async def steps(rnd, s, held):
    req = rnd.request
    try:
        conn = await asyncssh.connect(
            req["host"],
            req["port"],
            client_factory=lambda: Marker(s, held),
            **rnd.options,
        )
    finally:
        if held.conn is not None:
            s.negotiated = negotiated_of(held.conn)
    s.mark("auth")
    s.command_done(await run_command(conn, req["command"], s, True))
    if s.status is None or s.status == "exit_nonzero":
        # The first command's channel is closed; the connection stays open.
        s.mark("close")
    for _ in s.further_commands():
        s.command_done(await run_command(conn, req["command"], s, False))
    conn.close()
    await conn.wait_closed()
    held.conn = None
    if s.status is None or s.status == "exit_nonzero":
        s.mark("disconnect")


async def session(rnd, number, proto):
    req = rnd.request
    s = wc.Session(req["round"], number, rnd.t0, req["commands_per_session"])
    held = Held()
    try:
        if rnd.error:
            s.fail_with(*rnd.error)
        else:
            await asyncio.wait_for(steps(rnd, s, held), req["timeout_ms"] / 1000)
    except asyncio.TimeoutError:
        s.timed_out()
    except asyncssh.PermissionDenied as e:
        s.fail(e.reason or str(e), auth_refused=True)
    except asyncssh.HostKeyNotVerifiable as e:
        s.fail("host key not verifiable: %s" % (e.reason or e))
    except asyncssh.DisconnectError as e:
        s.fail(no_common_algorithm(e.reason or str(e)))
    except asyncssh.ChannelOpenError as e:
        s.fail(e.reason or str(e))
    except OSError as e:
        s.fail(wc.os_error(e))
    except Exception as e:
        s.fail("%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__)
    finally:
        if held.conn is not None:
            held.conn.abort()
        proto.send(s.report())


#: asyncssh's words for each kind of algorithm, and kexinit.ts's.
MISMATCH_KINDS = {
    "key exchange": "key exchange",
    "host key": "host key algorithm",
    "encryption": "cipher",
    "MAC": "MAC",
    "compression": "compression",
}


def no_common_algorithm(reason):
    """asyncssh's `No matching cipher algorithm found, sent A and received
    B` in the words of kexinit.ts noCommonAlgorithm; any other reason as it
    is."""
    m = re.match(
        r"No matching (.+) algorithm found, sent (\S*) and received (\S*)$",
        reason,
    )
    if not m or m.group(1) not in MISMATCH_KINDS:
        return reason
    return wc.no_common(
        MISMATCH_KINDS[m.group(1)],
        m.group(2).split(","),
        [n for n in m.group(3).split(",") if n],
    )


def negotiated_of(conn):
    """What the handshake chose, in OpenSSH's names (asyncssh uses them):
    cipher and MAC from the connection's extra info; kex and host-key
    algorithm computed from both KEXINIT messages as RFC 4253 chooses them
    (asyncssh keeps no name for either once the kex is over). None before
    the handshake ended."""
    cipher = conn.get_extra_info("send_cipher")
    if not cipher:
        return None
    both = wc.negotiated_from_kexinit(
        getattr(conn, "_client_kexinit", b""),
        getattr(conn, "_server_kexinit", b""),
    )
    if both is None:
        return None
    return wc.negotiated(
        both["kex"], both["hostKey"], cipher, conn.get_extra_info("send_mac")
    )


async def run_round(request, t0, proto):
    # One Round per host of the fleet (one for a single host), all with the
    # same round start; session n goes to host (n - 1) % hosts.
    files = {}
    rounds = [Round(one, t0, files) for one in wc.host_requests(request)]
    await asyncio.gather(
        *(
            session(rounds[(number - 1) % len(rounds)], number, proto)
            for number in range(1, request["sessions"] + 1)
        )
    )
    proto.round_done(request["round"])


def main():
    wc.logging_to_stderr()
    proto = wc.Protocol()
    proto.hello(CLIENT, VERSION)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for request, t0 in proto.requests():
            loop.run_until_complete(run_round(request, t0, proto))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
