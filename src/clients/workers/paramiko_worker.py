#!/usr/bin/python3
"""The `paramiko` client worker: paramiko (pure Python SSH) under gevent,
driven as parallel-ssh 1.x drove it in the reference post: gevent's monkey
patching first, then one gevent Pool of N greenlets per round, each running
one session with paramiko's blocking API (paramiko's transport threads
become greenlets).

Speaks the worker protocol of src/clients/protocol.ts on stdin/stdout. Run
with Debian's /usr/bin/python3 (python3-paramiko, python3-gevent); a missing
library is one line on stderr naming the package, and exit code 3.

A session: TCP connect (gevent socket, TCP_NODELAY) -> connect mark;
SSHClient.connect over that socket with the key (no agent, no key search),
host key checked against known_hosts (RejectPolicy) -> auth mark; a session
channel and exec_command -> exec mark; stdout read line by line to EOF ->
read mark; exit status, channel closed -> close mark (the transport still
open); K > 1: the command again K - 1
times, each on a new channel of the same transport (reexec_ms); transport
closed -> disconnect mark. The whole session is bounded by gevent.Timeout.

A fleet (protocol 2, the request's `hosts`): session n goes to host
(n - 1) % len(hosts), with that host's address, account, key and
known_hosts file; each host's key and known hosts are read once per round.

Once the last command's exit status arrived (stdout read to its end), an
error while closing its channel or the transport is a teardown error: the
status stays ok (or exit_nonzero), the error goes to teardown_error. A
handshake that fails for lack of a common algorithm (paramiko's
IncompatiblePeer) names the kind and both lists, read from both KEXINIT
messages (the server's kept as it arrives: paramiko keeps it only once the
negotiation succeeded).
"""

# gevent patches the standard library before anything else imports it (as
# parallel-ssh did); a missing gevent is reported below.
try:
    from gevent import monkey

    monkey.patch_all()
except ImportError:
    pass

import os  # noqa: E402
import sys  # noqa: E402

# worker_common sits next to this file (also under python3 -I); no
# __pycache__ is written into the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import worker_common as wc  # noqa: E402

CLIENT = "paramiko"

gevent = wc.import_or_exit(CLIENT, "gevent", "python3-gevent")
paramiko = wc.import_or_exit(CLIENT, "paramiko", "python3-paramiko")

import socket  # noqa: E402

import gevent.pool  # noqa: E402

VERSION = paramiko.__version__
LABEL = "paramiko %s" % VERSION

# Per kind of pin: paramiko's disabled_algorithms key, its SecurityOptions
# field, and the table of the algorithms it implements.
PIN_MAP = {
    "kex": ("kex", "kex", paramiko.Transport._kex_info),
    "ciphers": ("ciphers", "ciphers", paramiko.Transport._cipher_info),
    "macs": ("macs", "digests", paramiko.Transport._mac_info),
    "hostKeyAlgorithms": ("keys", "key_types", paramiko.Transport._key_info),
}
SUPPORTED = {kind: set(table) for kind, (_, _, table) in PIN_MAP.items()}
# Kex engine class -> the kex name it implements (first name wins).
KEX_NAMES = {}
for _name, _cls in paramiko.Transport._kex_info.items():
    KEX_NAMES.setdefault(_cls, _name)


class BenchTransport(paramiko.Transport):
    """paramiko's Transport, which (1) offers exactly the pinned algorithms
    in the pinned order (SecurityOptions, paramiko's public way to set
    them; disabled_algorithms, given by SSHClient, keeps them exclusive
    even when SSHClient puts the known host key's type first), and (2)
    remembers which key exchange ran: paramiko drops its kex engine once
    the keys are in use, and keeps no name for it."""

    pins = None

    def __init__(self, sock, **kwargs):
        self.kex_name = None
        self.server_kexinit = None
        super().__init__(sock, **kwargs)
        if self.pins:
            options = self.get_security_options()
            for kind, names in self.pins.items():
                if names and kind in PIN_MAP:
                    setattr(options, PIN_MAP[kind][1], tuple(names))

    def _parse_kex_init(self, m):
        # The server's KEXINIT as it came (message number included), for
        # naming an algorithm mismatch (paramiko stores it only on success).
        self.server_kexinit = b"\x14" + m.asbytes()
        return super()._parse_kex_init(m)

    @property
    def kex_engine(self):
        return self.__dict__.get("_bench_kex_engine")

    @kex_engine.setter
    def kex_engine(self, engine):
        self.__dict__["_bench_kex_engine"] = engine
        if engine is not None and self.kex_name is None:
            self.kex_name = KEX_NAMES.get(type(engine))


def transport_factory(pins):
    if not pins:
        return BenchTransport
    return type("PinnedTransport", (BenchTransport,), {"pins": pins})


def disabled_algorithms(pins):
    """paramiko's disabled_algorithms for the pins: everything it implements
    of a pinned kind, except the pinned names."""
    out = {}
    for kind, names in (pins or {}).items():
        if names and kind in PIN_MAP:
            key, _, table = PIN_MAP[kind]
            out[key] = [n for n in table if n not in names]
    return out


class AcceptAny(paramiko.MissingHostKeyPolicy):
    """Host-key policy `any`: accept whatever key the server shows."""

    def missing_host_key(self, client, hostname, key):
        return


def load_private_key(path):
    """The key file as a paramiko key, whatever its type (paramiko 2.12 has
    no generic loader)."""
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey,
                paramiko.DSSKey):
        try:
            return cls.from_private_key_file(path)
        except paramiko.SSHException as e:
            errors.append("%s: %s" % (cls.__name__, e))
    raise paramiko.SSHException("cannot load %s (%s)" % (path, "; ".join(errors)))


def read_key(path):
    """(key, None), or (None, the reason it cannot be loaded)."""
    try:
        return load_private_key(path), None
    except (OSError, paramiko.SSHException) as e:
        return None, str(e)


def read_host_keys(path):
    """(paramiko.HostKeys, None), or (None, the reason)."""
    try:
        return paramiko.HostKeys(path), None
    except OSError as e:
        return None, "known_hosts: %s" % wc.os_error(e)


class Round:
    """What every session of one host of a round shares (a round without a
    fleet has one host): the request with that host's fields, the key, the
    known hosts, the algorithm options. Each is read once per round:
    `files` is the round's memo, shared by its hosts (wc.once)."""

    def __init__(self, request, t0, files=None):
        files = {} if files is None else files
        self.request = request
        self.t0 = t0
        self.key = None
        self.key_error = None
        self.agent = wc.agent_socket(request)
        if self.agent:
            # paramiko.Agent reads the socket from the environment.
            os.environ["SSH_AUTH_SOCK"] = self.agent
        else:
            path = request["identity_file"]
            self.key, self.key_error = wc.once(
                files, ("key", path), lambda: read_key(path)
            )
        self.host_keys = None
        self.host_keys_error = None
        if request["host_key_policy"] == "known_hosts":
            path = request["known_hosts_file"]
            if path is None:
                # A fleet host without a known_hosts file: refused, never
                # any key.
                self.host_keys_error = "known_hosts: no file for %s:%d" % (
                    request["host"],
                    request["port"],
                )
            else:
                self.host_keys, self.host_keys_error = wc.once(
                    files, ("known_hosts", path), lambda: read_host_keys(path)
                )
        pins = request.get("algorithms")
        self.unsupported = wc.unsupported_pins(LABEL, pins, SUPPORTED)
        self.transport_factory = transport_factory(pins)
        self.disabled = disabled_algorithms(pins)


def trust(client, rnd):
    """Host-key policy on a fresh SSHClient: the round's known hosts and
    RejectPolicy (an unknown key is refused; a changed one fails with
    BadHostKeyException), or any key."""
    if rnd.host_keys is None:
        client.set_missing_host_key_policy(AcceptAny())
        return
    mine = client.get_host_keys()
    for name in rnd.host_keys.keys():
        for key_type, key in rnd.host_keys[name].items():
            mine.add(name, key_type, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())


def drain_stderr(chan):
    """Reads and drops `chan`'s stderr until the channel closes (each read
    gives the window back to the server)."""
    try:
        while chan.recv_stderr(32768):
            pass
    except Exception:  # the channel or the transport went: nothing to drain
        pass


def run_command(transport, command, s, first):
    """One command on a new channel of `transport`: exec, stdout read line
    by line to EOF, exit status, channel closed. Marks exec and read for the
    first command. Returns the exit code (None when none came); an error
    closing the channel after the exit status came is a teardown error."""
    s.phase = "exec"
    chan = transport.open_session()
    try:
        chan.exec_command(command)
        # stderr is not counted, but read as it comes: left in paramiko's
        # buffer, it would fill the channel's window and stall stdout.
        gevent.spawn(drain_stderr, chan)
        if first:
            s.mark("exec")
        else:
            s.phase = "read"
        stdout = chan.makefile("rb")
        for line in stdout:
            if first:
                s.line(line)
        if not chan.eof_received and not transport.is_active():
            # stdout ended with the connection, not at the server's EOF:
            # the read did not complete.
            raise EOFError("connection closed before end of file")
        if first:
            s.mark("read")
        else:
            s.phase = "close"
        code = chan.recv_exit_status()
        code = None if code == -1 else code
        s.exit_status(code)
        return code
    finally:
        chan.close()


def session(rnd, number, proto):
    req = rnd.request
    s = wc.Session(req["round"], number, rnd.t0, req["commands_per_session"])
    sock = None
    client = None
    timer = gevent.Timeout(req["timeout_ms"] / 1000)
    timer.start()
    try:
        if rnd.unsupported:
            s.fail_with("connect_error", rnd.unsupported)
        elif rnd.host_keys_error:
            s.fail_with("connect_error", rnd.host_keys_error)
        elif rnd.key_error:
            s.fail_with("auth_error", "auth: %s" % rnd.key_error)
        else:
            sock = tcp_connect(req["host"], req["port"])
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.mark("connect")
            client = paramiko.SSHClient()
            trust(client, rnd)
            # paramiko's own banner and auth timeouts follow the session's,
            # so the session timeout alone decides.
            timeout_s = req["timeout_ms"] / 1000
            try:
                client.connect(
                    req["host"],
                    port=req["port"],
                    username=req["user"],
                    pkey=rnd.key,
                    sock=sock,
                    allow_agent=bool(rnd.agent),
                    look_for_keys=False,
                    banner_timeout=timeout_s,
                    auth_timeout=timeout_s,
                    disabled_algorithms=rnd.disabled,
                    transport_factory=rnd.transport_factory,
                )
            finally:
                s.negotiated = negotiated_of(client.get_transport())
            s.mark("auth")
            transport = client.get_transport()
            s.command_done(run_command(transport, req["command"], s, True))
            if s.status is None or s.status == "exit_nonzero":
                # The first command's channel is closed; the transport stays.
                s.mark("close")
            for _ in s.further_commands():
                s.command_done(run_command(transport, req["command"], s, False))
            client.close()
            client = None
            if s.status is None or s.status == "exit_nonzero":
                s.mark("disconnect")
    except gevent.Timeout as t:
        if t is not timer:
            s.fail("interrupted by %r" % t)
            raise
        s.timed_out()
    except paramiko.BadHostKeyException as e:
        s.fail("host key does not match known_hosts (%s)" % e)
    except paramiko.AuthenticationException as e:
        s.fail(str(e) or type(e).__name__, auth_refused=True)
    except OSError as e:
        s.fail(wc.os_error(e))
    except Exception as e:  # paramiko raises SSHException, EOFError, ...
        mismatch = no_common_algorithm(e, client)
        if mismatch:
            s.fail(mismatch)
        else:
            s.fail(
                "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
            )
    finally:
        timer.close()
        if client is not None:
            client.close()
        if sock is not None:
            sock.close()
        proto.send(s.report())


def no_common_algorithm(e, client):
    """For paramiko's IncompatiblePeer, the kind of algorithm the client and
    the server share none of, with both lists; None otherwise."""
    incompatible = getattr(paramiko.ssh_exception, "IncompatiblePeer", None)
    if incompatible is None or not isinstance(e, incompatible) or client is None:
        return None
    t = client.get_transport()
    if t is None:
        return None
    return wc.no_common_algorithm(
        getattr(t, "local_kex_init", None), getattr(t, "server_kexinit", None)
    )


def tcp_connect(host, port):
    """A connected TCP socket (gevent's). A numeric address is connected
    straight away: create_connection would send even that through gevent's
    resolver thread pool, a thread hop that the other clients do not pay."""
    family = wc.numeric_family(host)
    if family is None:
        return socket.create_connection((host, port))
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def negotiated_of(transport):
    """What the handshake chose, in OpenSSH's names (paramiko uses them);
    None before the handshake ended."""
    if transport is None or not transport.local_cipher:
        return None
    return wc.negotiated(
        getattr(transport, "kex_name", None),
        transport.host_key_type,
        transport.local_cipher,
        transport.local_mac,
    )


def run_round(request, t0, proto):
    # One Round per host of the fleet (one for a single host), all with the
    # same round start; session n goes to host (n - 1) % hosts.
    files = {}
    rounds = [Round(one, t0, files) for one in wc.host_requests(request)]
    pool = gevent.pool.Pool(request["sessions"])
    for number in range(1, request["sessions"] + 1):
        pool.spawn(session, rounds[(number - 1) % len(rounds)], number, proto)
    pool.join()
    proto.round_done(request["round"])


def main():
    wc.logging_to_stderr()
    proto = wc.Protocol()
    proto.hello(CLIENT, VERSION)
    for request, t0 in proto.requests():
        run_round(request, t0, proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
