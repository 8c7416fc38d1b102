"""What the Python client workers share: the worker protocol's I/O
(src/clients/protocol.ts: JSON lines, hello, round requests, session and
round_done lines), a round's fleet as one request per host (host_requests),
the session record with its marks and statuses, the worker's own CPU and
memory, and the algorithm helpers (pins, OpenSSH names, the negotiated
algorithms).

Standard library only, so that it imports before the SSH library does and
can say which Debian package is missing when that import fails.

Every mark is a millisecond offset on time.perf_counter() (monotonic) from
the moment the worker read the round request.
"""

import json
import logging
import os
import resource
import socket
import struct
import sys
import time

#: The protocol version the workers speak (protocol.ts PROTOCOL_VERSION):
#: 2 reads a round request's `hosts` (a fleet).
PROTOCOL_VERSION = 2

#: Exit code of a worker whose library is missing (the benchmark skips it).
EXIT_MISSING_LIBRARY = 3
#: Exit code of a worker given a request it cannot read.
EXIT_BAD_REQUEST = 2

#: The statuses of src/clients/seam.ts (STATUSES), in the same order.
STATUSES = (
    "ok",
    "connect_error",
    "auth_error",
    "exec_error",
    "read_error",
    "timeout",
    "exit_nonzero",
)

#: The phases of one session, in order (src/clients/seam.ts PHASES).
PHASES = ("connect", "auth", "exec", "read", "close", "disconnect")

#: Kinds of algorithm pin (AlgorithmPins keys) and their word in messages,
#: in the order of algorithms.ts PIN_KINDS.
PIN_KINDS = (
    ("kex", "kex"),
    ("hostKeyAlgorithms", "host key algorithm"),
    ("ciphers", "cipher"),
    ("macs", "MAC"),
)

#: The MAC OpenSSH reports for an AEAD cipher.
IMPLICIT_MAC = "<implicit>"

_REQUIRED = {
    "round": int,
    "sessions": int,
    "host": str,
    "port": int,
    "user": str,
    "identity_file": str,
    "command": str,
    "commands_per_session": int,
    "timeout_ms": (int, float),
}

#: The fields of one fleet host (protocol.ts RoundHost) that must be there,
#: with their types; a session of that host uses them in place of the
#: request's own.
_HOST_REQUIRED = {
    "host": str,
    "port": int,
    "user": str,
    "identity_file": str,
}

#: Every field a fleet host entry overlays on the request.
HOST_FIELDS = (
    "host",
    "port",
    "user",
    "identity_file",
    "public_key_file",
    "known_hosts_file",
)


# ---------------------------------------------------------------------------
# Start-up


def import_or_exit(client, module, package):
    """Imports `module`; when that fails, says on stderr which Debian package
    to install and exits with EXIT_MISSING_LIBRARY."""
    try:
        return __import__(module)
    except ImportError as e:
        sys.stderr.write(
            "%s worker: cannot import %s (%s) in %s: install %s "
            "(apt-get install %s)\n"
            % (client, module, e, sys.executable, package, package)
        )
        sys.stderr.flush()
        sys.exit(EXIT_MISSING_LIBRARY)


def logging_to_stderr():
    """Library messages (paramiko's and asyncssh's loggers, warnings) go to
    stderr, warnings and worse only."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    logging.captureWarnings(True)


class Protocol:
    """The worker's side of the protocol. Takes fd 1 for protocol lines and
    points fd 1 and sys.stdout at stderr, so that nothing else (a stray
    print, a C library) can write to the protocol stream."""

    def __init__(self):
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, message):
        """Writes one protocol line and flushes it."""
        try:
            self._out.write(json.dumps(message, separators=(",", ":")) + "\n")
            self._out.flush()
        except BrokenPipeError:
            # The benchmark is gone: nobody to report to.
            os._exit(0)

    def hello(self, client, version):
        self.send(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "client": client,
                "version": version,
            }
        )

    def requests(self):
        """Yields (request, round start) for each round request on stdin,
        until stdin ends. A line that is not a valid round request ends the
        worker with EXIT_BAD_REQUEST and the reason on stderr."""
        for line in sys.stdin:
            if not line.strip():
                continue
            start = time.perf_counter()
            try:
                request = parse_request(line)
            except ValueError as e:
                sys.stderr.write("bad request: %s\n" % e)
                sys.stderr.flush()
                sys.exit(EXIT_BAD_REQUEST)
            yield request, start

    def round_done(self, round_no):
        self.send(
            {
                "type": "round_done",
                "round": round_no,
                "cpu_ms": cpu_ms(),
                "rss_mb": rss_mb(),
            }
        )


def parse_request(line):
    """Checks one round request (protocol.ts RoundRequest); raises
    ValueError saying what is wrong."""
    try:
        r = json.loads(line)
    except ValueError:
        raise ValueError("not JSON: %s" % line[:80].rstrip())
    if not isinstance(r, dict) or r.get("type") != "round":
        raise ValueError("not a round request: %s" % line[:80].rstrip())
    for key, kind in _REQUIRED.items():
        v = r.get(key)
        if not isinstance(v, kind) or isinstance(v, bool):
            raise ValueError("round request without a valid %s" % key)
    if r["sessions"] < 0 or r["commands_per_session"] < 1:
        raise ValueError("sessions must be >= 0 and commands_per_session >= 1")
    policy = r.get("host_key_policy")
    if policy not in ("known_hosts", "any"):
        raise ValueError("host_key_policy must be known_hosts or any")
    if policy == "known_hosts" and not isinstance(r.get("known_hosts_file"), str):
        raise ValueError("host_key_policy known_hosts needs known_hosts_file")
    pins = r.get("algorithms")
    if pins is not None:
        if not isinstance(pins, dict):
            raise ValueError("algorithms must be an object or null")
        for kind, _ in PIN_KINDS:
            names = pins.get(kind)
            if names is not None and not (
                isinstance(names, list) and all(isinstance(n, str) for n in names)
            ):
                raise ValueError("algorithms.%s must be a list of names" % kind)
    auth = r.get("auth")
    if auth is None:
        r["auth"] = {"kind": "key", "agent_socket": None}
    elif not isinstance(auth, dict) or auth.get("kind") not in ("key", "agent"):
        raise ValueError("auth must be an object with kind key or agent")
    elif auth["kind"] == "agent" and not isinstance(auth.get("agent_socket"), str):
        raise ValueError("auth kind agent needs agent_socket")
    _check_hosts(r.get("hosts"))
    return r


def _check_hosts(hosts):
    """Checks a round request's `hosts` (protocol 2, RoundRequest.hosts):
    absent or null, or a list of host entries; raises ValueError naming the
    first entry that is wrong and how."""
    if hosts is None:
        return
    if not isinstance(hosts, list):
        raise ValueError("hosts must be a list of host entries or null")
    for i, h in enumerate(hosts):
        if not isinstance(h, dict):
            raise ValueError("hosts[%d] is not an object" % i)
        for key, kind in _HOST_REQUIRED.items():
            v = h.get(key)
            if not isinstance(v, kind) or isinstance(v, bool):
                raise ValueError("hosts[%d] without a valid %s" % (i, key))
        # Present in every entry (protocol.ts hostsOk), so that nothing
        # falls back to the first host's file.
        if "known_hosts_file" not in h or not (
            h["known_hosts_file"] is None or isinstance(h["known_hosts_file"], str)
        ):
            raise ValueError(
                "hosts[%d]: known_hosts_file must be a path or null" % i
            )
        if not isinstance(h.get("public_key_file"), str):
            raise ValueError("hosts[%d] without a valid public_key_file" % i)


def host_requests(request):
    """The round request as one request per host of its fleet, in order:
    each the request with that host's entry in place of the top-level
    address, account and files (protocol.ts forSession), without `hosts`.
    Session n (from 1) runs under host_requests(...)[(n - 1) % len]. A
    request without hosts (absent, null or empty) is its one host:
    [request]."""
    hosts = request.get("hosts")
    if not hosts:
        return [request]
    out = []
    for h in hosts:
        one = dict(request)
        del one["hosts"]
        for key in HOST_FIELDS:
            if key in h:
                one[key] = h[key]
        out.append(one)
    return out


def once(files, key, read):
    """read() the first time `key` is asked for in `files` (a dict that
    lives for one round), then the same result: hosts of a fleet that share
    a key or known_hosts file read it once per round."""
    if key not in files:
        files[key] = read()
    return files[key]


def agent_socket(request):
    """The ssh-agent socket a round authenticates with, or None for the
    identity file."""
    auth = request.get("auth") or {}
    return auth.get("agent_socket") if auth.get("kind") == "agent" else None


# ---------------------------------------------------------------------------
# The worker's own cost


def cpu_ms():
    """User + system CPU of this process (all its threads) and of its reaped
    children since it started, ms (getrusage)."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self": round((s.ru_utime + s.ru_stime) * 1000, 3),
        "children": round((c.ru_utime + c.ru_stime) * 1000, 3),
    }


_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb():
    """Resident set size now, MiB: /proc/self/statm's resident pages (the
    current RSS, not getrusage's maximum, which never goes down)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * _PAGE / 1048576, 2)
    except (OSError, IndexError, ValueError):
        # No /proc: the peak (ru_maxrss is in KiB on Linux).
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 2)


# ---------------------------------------------------------------------------
# One session


def status_of_failure(phase, auth_refused=False):
    """The status of a session that failed in `phase` (as the in-process
    clients map it): a failure while closing (no exit status) is a read
    error, like ssh2's."""
    if phase == "connect":
        return "connect_error"
    if phase == "auth":
        return "auth_error" if auth_refused else "connect_error"
    if phase == "exec":
        return "exec_error"
    return "read_error"


class Session:
    """One session's record: marks, phase reached, counts and outcome; turns
    into a protocol `session` line with report()."""

    __slots__ = (
        "round",
        "number",
        "t0",
        "start",
        "marks",
        "phase",
        "command",
        "commands_total",
        "commands",
        "bytes",
        "lines",
        "last",
        "exit_code",
        "reexec_ms",
        "status",
        "error",
        "negotiated",
        "final",
        "final_pending",
        "teardown_error",
        "reexec_start",
        "go_on",
    )

    def __init__(self, round_no, number, t0, commands_total):
        self.round = round_no
        self.number = number
        self.t0 = t0
        self.start = self.now()
        self.marks = dict.fromkeys(PHASES)
        self.phase = "connect"
        self.command = 1
        self.commands_total = commands_total
        self.commands = 0
        self.bytes = 0
        self.lines = 0
        self.last = ""
        self.exit_code = None
        self.reexec_ms = None
        self.status = None
        self.error = ""
        self.negotiated = None
        # The exit code of the last command the session runs, once it came
        # (stdout read to its end): from then on an error is a teardown
        # error. final_pending: command_done() has not counted it yet.
        self.final = None
        self.final_pending = False
        self.teardown_error = None
        # When the further commands 2..K began (ms from the round start).
        self.reexec_start = None
        # What the last command_done() returned: go on with the next one.
        self.go_on = False

    def now(self):
        """ms since the round start."""
        return (time.perf_counter() - self.t0) * 1000

    def mark(self, phase):
        """Ends `phase` of the first command now; the next one begins."""
        self.marks[phase] = self.now()
        i = PHASES.index(phase)
        self.phase = PHASES[i + 1] if i + 1 < len(PHASES) else phase

    def line(self, data):
        """Counts one stdout line of the first command (a final line without
        a newline is a line too) and decodes it, as a reader would."""
        self.bytes += len(data)
        self.lines += 1
        self.last = data.decode("utf-8", "replace")

    def where(self):
        """The step in progress, for messages: `exec`, or `exec (command 2
        of 3)` for a further command."""
        if self.command == 1:
            return self.phase
        return "%s (command %d of %d)" % (
            self.phase,
            self.command,
            self.commands_total,
        )

    def exit_status(self, code):
        """The exit status of the command in progress arrived, its stdout
        read to the end (None: none came). When it is the last command the
        session runs (command K, or a nonzero exit), the session is
        complete: an error from now on, while closing the channel or the
        connection, is a teardown error (see fail). Call it before closing
        the channel; command_done() still follows as usual."""
        if code is not None and (
            code != 0 or self.command == self.commands_total
        ):
            self.final = code
            self.final_pending = True

    def fail(self, error, auth_refused=False):
        """The session failed in the step in progress (first failure wins).
        Once its commands completed (exit_status), the error is a teardown
        error instead: the status stays the commands' own."""
        if self.final is not None and self.status in (None, "exit_nonzero"):
            self._torn_down(error)
            return
        if self.status is None:
            self.status = status_of_failure(self.phase, auth_refused)
            self.error = "%s: %s" % (self.where(), error)

    def _torn_down(self, error):
        """Every command completed, then closing failed with `error`: the
        last command is counted, the phases not yet ended end now (the
        connection is gone), and the error is kept as teardown_error."""
        if self.teardown_error is not None:
            return
        where = self.where()
        if self.final_pending:
            self.command_done(self.final)
            if self.command == 1 and self.marks["close"] is None:
                self.mark("close")
            if (
                self.command > 1
                and self.commands == self.commands_total
                and self.reexec_ms is None
                and self.reexec_start is not None
            ):
                self.reexec_ms = self.now() - self.reexec_start
        self.teardown_error = "%s: %s" % (where, error)
        if self.marks["disconnect"] is None:
            self.marks["disconnect"] = self.now()

    def fail_with(self, status, error):
        if self.status is None:
            self.status = status
            self.error = error

    def timed_out(self):
        if self.status is None:
            self.status = "timeout"
            self.error = "timed out during %s" % self.where()

    def command_done(self, code):
        """One command's exit status arrived (None: the channel closed
        without one). Returns whether to go on with the next command (kept
        in go_on). Only a command that exits 0 counts as completed (seam.ts
        `commands`)."""
        self.go_on = self._command_done(code)
        return self.go_on

    def _command_done(self, code):
        if code is None:
            self.fail("channel closed without an exit status")
            return False
        self.final_pending = False
        if self.command == 1 or code != 0:
            self.exit_code = code
        if code != 0:
            which = "" if self.command == 1 else " (command %d of %d)" % (
                self.command,
                self.commands_total,
            )
            self.fail_with("exit_nonzero", "exit code %d%s" % (code, which))
            return False
        self.commands += 1
        return True

    def further_commands(self):
        """The commands 2..K on the connection of the first, as a worker
        runs them (blocking under gevent, or awaited on asyncio alike):

            for _ in s.further_commands():
                s.command_done(run_command(...))

        Yields each one's number (as `command`, for messages) once the
        command before it went well, and stops after the first that did not
        (a nonzero exit, no exit status). When all K ran, reexec_ms is their
        time; then the session's step is disconnect. Nothing to yield when
        K is 1 or the first command did not go well."""
        k = self.commands_total
        if not self.go_on or k < 2:
            return
        self.reexec_start = self.now()
        for i in range(2, k + 1):
            self.command = i
            yield i
            if not self.go_on:
                break
        if self.commands == k:
            self.reexec_ms = self.now() - self.reexec_start
        self.command = 1
        self.phase = "disconnect"

    def report(self):
        """The session's protocol line (the session ends now)."""
        end = self.now()
        if self.status is None and self.marks["disconnect"] is None:
            # Not failed, yet not through: never report that as ok.
            self.fail("session ended before the connection was closed")
        status = self.status or "ok"
        return {
            "type": "session",
            "round": self.round,
            "session": self.number,
            "start_ms": _ms(self.start),
            "connect_ms": _ms(self.marks["connect"]),
            "auth_ms": _ms(self.marks["auth"]),
            "exec_ms": _ms(self.marks["exec"]),
            "read_ms": _ms(self.marks["read"]),
            "close_ms": _ms(self.marks["close"]),
            "disconnect_ms": _ms(self.marks["disconnect"]),
            "end_ms": _ms(end),
            "reexec_ms": _ms(self.reexec_ms),
            "commands": self.commands,
            "bytes": self.bytes,
            "lines": self.lines,
            "exit_code": self.exit_code,
            "status": status,
            "error": "" if status == "ok" else self.error,
            "teardown_error": self.teardown_error,
            "negotiated": self.negotiated,
        }


def _ms(v):
    return None if v is None else round(v, 3)


def numeric_family(host):
    """AF_INET or AF_INET6 when `host` is a numeric address, else None."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return family
        except (OSError, ValueError):
            pass
    return None


def os_error(e):
    """A socket error as a short message: `Connection refused` rather than
    `[Errno 111] Connection refused` or asyncio's `Connect call failed`. A
    lookup error's number is getaddrinfo's (EAI_*), not an errno: its own
    text (`Name or service not known`)."""
    if isinstance(e, socket.gaierror) and e.strerror:
        return e.strerror
    if isinstance(e, OSError) and e.errno:
        return os.strerror(e.errno)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


# ---------------------------------------------------------------------------
# Algorithms


def unsupported_pins(client, pins, supported):
    """The error of a session whose library lacks some pinned algorithms,
    naming each, in the words of algorithms.ts unsupportedPins; None when
    every pinned name is in `supported` (kind -> names)."""
    if not pins:
        return None
    missing = [
        "%s %s" % (label, name)
        for kind, label in PIN_KINDS
        for name in pins.get(kind) or []
        if name not in supported[kind]
    ]
    if not missing:
        return None
    return "handshake: %s does not support %s" % (client, ", ".join(missing))


def is_aead(cipher):
    """AES-GCM and chacha20-poly1305 carry their own integrity."""
    return "-gcm" in cipher or "poly1305" in cipher


def negotiated(kex, host_key, cipher, mac):
    """A protocol `negotiated` object (OpenSSH names; `<implicit>` MAC for an
    AEAD cipher), or None when any part is unknown."""
    if not (kex and host_key and cipher):
        return None
    if is_aead(cipher) or not mac:
        mac = IMPLICIT_MAC
    return {"kex": kex, "hostKey": host_key, "cipher": cipher, "mac": mac}


def kexinit_lists(payload):
    """The name-lists of an SSH_MSG_KEXINIT payload (RFC 4253 7.1, message
    byte included): kex, host key, ciphers c->s, s->c, MACs c->s, s->c, ..."""
    at = 17  # message number and cookie
    lists = []
    for _ in range(10):
        (n,) = struct.unpack_from(">I", payload, at)
        at += 4
        text = bytes(payload[at : at + n]).decode("ascii")
        lists.append(text.split(",") if text else [])
        at += n
    return lists


def first_common(client_list, server_list):
    """RFC 4253 7.1: the first of the client's algorithms the server also
    lists."""
    for name in client_list:
        if name in server_list:
            return name
    return None


#: Kinds of algorithm in a KEXINIT's name-lists (index), with their words
#: in a mismatch message, as kexinit.ts noCommonAlgorithm words them.
_OFFER_KINDS = ((0, "key exchange"), (1, "host key algorithm"), (2, "cipher"),
                (4, "MAC"))


def no_common(label, ours, theirs):
    """A mismatch message naming both lists, in the words of kexinit.ts
    noCommonAlgorithm."""
    return "no common %s with the server (client offers: %s; server offers: %s)" % (
        label,
        ",".join(ours),
        ",".join(theirs) or "none",
    )


def no_common_algorithm(client_payload, server_payload):
    """The first kind of algorithm both KEXINIT messages (message number
    included) have none of in common, as a message naming both lists (a
    MAC mismatch does not count under an AEAD cipher); None when every kind
    has a common one or they do not parse."""
    try:
        c = kexinit_lists(client_payload)
        s = kexinit_lists(server_payload)
    except (struct.error, UnicodeDecodeError, TypeError):
        return None
    cipher = first_common(c[2], s[2])
    for i, label in _OFFER_KINDS:
        if i == 4 and cipher is not None and is_aead(cipher):
            continue
        if first_common(c[i], s[i]) is None:
            return no_common(label, c[i], s[i])
    return None


def negotiated_from_kexinit(client_payload, server_payload):
    """The negotiated algorithms (client to server) from both KEXINIT
    messages, chosen as RFC 4253 says both sides must; None when they do
    not parse."""
    try:
        c = kexinit_lists(client_payload)
        s = kexinit_lists(server_payload)
    except (struct.error, UnicodeDecodeError, TypeError):
        return None
    return negotiated(
        first_common(c[0], s[0]),
        first_common(c[1], s[1]),
        first_common(c[2], s[2]),
        first_common(c[4], s[4]),
    )
