// Command ssh-bench-xcrypto is the `xcrypto` client worker: Go's
// golang.org/x/crypto/ssh, one goroutine per session, all sessions of a
// round started together.
//
// It speaks the worker protocol of src/clients/protocol.ts on stdin/stdout
// (docs/protocol.md, "Adding a client"), as the Python workers beside it do
// (worker_common.py is the reference: the same checks of a request, the
// same marks, statuses and messages).
//
// A session: TCP connect (net.Dialer; Go sets TCP_NODELAY) -> connect
// mark; handshake and public-key auth (the identity file, or the agent's
// keys), host key checked against known_hosts (knownhosts) -> auth mark; a
// session channel and exec accepted -> exec mark; stdout read line by line
// to EOF (bufio) -> read mark; exit status, channel closed -> close mark
// (the connection still open); K > 1: the command again K - 1 times, each
// on a new channel of the same connection (reexec_ms); connection closed
// -> disconnect mark. A timer bounds the whole session: when it fires, the
// session is a timeout in the step it was in, and its connection is closed.
//
// What the handshake negotiated is not kept by x/crypto: it is computed
// from both KEXINIT messages (sent in the clear), read off the connection
// as they pass, as RFC 4253 says both sides choose.
//
// Built offline in GOPATH mode against Debian's golang-golang-x-crypto-dev
// (src/util/go_build.ts); the x/crypto version is set at link time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// xcryptoVersion is golang.org/x/crypto's version, set with -ldflags -X.
var xcryptoVersion = "unknown"

const (
	client          = "xcrypto"
	protocolVersion = 2
	exitBadRequest  = 2
	implicitMAC     = "<implicit>"
)

// What x/crypto 0.4.0's client implements (common.go, kex.go, cipher.go,
// mac.go; it exports no list of its own): a pinned name outside these is
// refused before any connection, as the other clients do.
var supported = map[string][]string{
	"kex": {"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1",
		"diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha256",
		"diffie-hellman-group-exchange-sha1"},
	"hostKeyAlgorithms": hostKeyAlgorithms,
	"ciphers": {"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com",
		"aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc",
		"arcfour256", "arcfour128", "arcfour"},
	"macs": {"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256", "hmac-sha1",
		"hmac-sha1-96"},
}

// x/crypto's host-key algorithms in its order of preference.
var hostKeyAlgorithms = []string{
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01,
	ssh.CertAlgoDSAv01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01,
	ssh.CertAlgoECDSA521v01, ssh.CertAlgoED25519v01,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
	ssh.KeyAlgoDSA, ssh.KeyAlgoED25519,
}

// Kinds of pin, in the order of algorithms.ts PIN_KINDS, with their words.
var pinKinds = [][2]string{{"kex", "kex"},
	{"hostKeyAlgorithms", "host key algorithm"}, {"ciphers", "cipher"},
	{"macs", "MAC"}}

// ---------------------------------------------------------------------------
// The protocol's I/O

// out writes protocol lines, one goroutine at a time.
var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func send(m any) {
	out.Lock()
	defer out.Unlock()
	if err := out.enc.Encode(m); err != nil {
		// The benchmark is gone: nobody to report to.
		os.Exit(0)
	}
}

// Host is where one host of a round is and how to log in to it
// (protocol.ts RoundHost).
type Host struct {
	Host           string  `json:"host"`
	Port           int     `json:"port"`
	User           string  `json:"user"`
	IdentityFile   string  `json:"identity_file"`
	PublicKeyFile  string  `json:"public_key_file"`
	KnownHostsFile *string `json:"known_hosts_file"`
}

// Request is one round request (protocol.ts RoundRequest).
type Request struct {
	Host
	Round              int     `json:"round"`
	Sessions           int     `json:"sessions"`
	HostKeyPolicy      string  `json:"host_key_policy"`
	Command            string  `json:"command"`
	CommandsPerSession int     `json:"commands_per_session"`
	TimeoutMs          float64 `json:"timeout_ms"`
	Algorithms         Pins    `json:"algorithms"`
	Auth               struct {
		Kind        string  `json:"kind"`
		AgentSocket *string `json:"agent_socket"`
	} `json:"auth"`
	Hosts []Host `json:"hosts"`
}

// Pins are the algorithms a round offers exclusively (seam.ts AlgorithmPins).
type Pins struct {
	Kex               []string `json:"kex"`
	HostKeyAlgorithms []string `json:"hostKeyAlgorithms"`
	Ciphers           []string `json:"ciphers"`
	MACs              []string `json:"macs"`
}

// of: the pinned names of one kind (a pinKinds key).
func (p Pins) of(kind string) []string {
	return map[string][]string{"kex": p.Kex,
		"hostKeyAlgorithms": p.HostKeyAlgorithms, "ciphers": p.Ciphers,
		"macs": p.MACs}[kind]
}

// parseRequest checks one request line as worker_common.parse_request
// does, with the same words for what is wrong.
func parseRequest(line string) (*Request, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	short := strings.TrimRight(line[:min(len(line), 80)], "\r\n ")
	if d.Decode(&v) != nil || d.Decode(new(any)) != io.EOF {
		return nil, fmt.Errorf("not JSON: %s", short)
	}
	r, _ := v.(map[string]any)
	if r == nil || r["type"] != "round" {
		return nil, fmt.Errorf("not a round request: %s", short)
	}
	for _, k := range []string{"round", "sessions", "host", "port", "user",
		"identity_file", "command", "commands_per_session", "timeout_ms"} {
		ok := false
		switch k {
		case "host", "user", "identity_file", "command":
			_, ok = r[k].(string)
		case "timeout_ms":
			_, ok = r[k].(json.Number)
		default:
			ok = isInt(r[k])
		}
		if !ok {
			return nil, fmt.Errorf("round request without a valid %s", k)
		}
	}
	if n, _ := r["sessions"].(json.Number).Int64(); n < 0 {
		return nil, errors.New("sessions must be >= 0 and commands_per_session >= 1")
	}
	if k, _ := r["commands_per_session"].(json.Number).Int64(); k < 1 {
		return nil, errors.New("sessions must be >= 0 and commands_per_session >= 1")
	}
	policy := r["host_key_policy"]
	if policy != "known_hosts" && policy != "any" {
		return nil, errors.New("host_key_policy must be known_hosts or any")
	}
	if _, ok := r["known_hosts_file"].(string); policy == "known_hosts" && !ok {
		return nil, errors.New("host_key_policy known_hosts needs known_hosts_file")
	}
	if pins, ok := r["algorithms"]; ok && pins != nil {
		m, ok := pins.(map[string]any)
		if !ok {
			return nil, errors.New("algorithms must be an object or null")
		}
		for _, k := range pinKinds {
			if names, ok := m[k[0]]; ok && names != nil && !isStrings(names) {
				return nil, fmt.Errorf("algorithms.%s must be a list of names", k[0])
			}
		}
	}
	if auth, ok := r["auth"]; ok && auth != nil {
		a, _ := auth.(map[string]any)
		if a == nil || (a["kind"] != "key" && a["kind"] != "agent") {
			return nil, errors.New("auth must be an object with kind key or agent")
		}
		if _, ok := a["agent_socket"].(string); a["kind"] == "agent" && !ok {
			return nil, errors.New("auth kind agent needs agent_socket")
		}
	}
	if err := checkHosts(r["hosts"]); err != nil {
		return nil, err
	}
	var req Request
	if err := json.Unmarshal([]byte(line), &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// checkHosts checks a request's fleet (absent, null, or host entries).
func checkHosts(v any) error {
	if v == nil {
		return nil
	}
	hosts, ok := v.([]any)
	if !ok {
		return errors.New("hosts must be a list of host entries or null")
	}
	for i, e := range hosts {
		h, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("hosts[%d] is not an object", i)
		}
		for _, k := range []string{"host", "port", "user", "identity_file"} {
			ok := isInt(h[k])
			if k != "port" {
				_, ok = h[k].(string)
			}
			if !ok {
				return fmt.Errorf("hosts[%d] without a valid %s", i, k)
			}
		}
		kh, present := h["known_hosts_file"]
		if _, isStr := kh.(string); !present || (kh != nil && !isStr) {
			return fmt.Errorf("hosts[%d]: known_hosts_file must be a path or null", i)
		}
		if _, ok := h["public_key_file"].(string); !ok {
			return fmt.Errorf("hosts[%d] without a valid public_key_file", i)
		}
	}
	return nil
}

// isInt: a JSON integer (Python's int: not 3.0, not 1e3).
func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	_, err := strconv.ParseInt(string(n), 10, 64)
	return err == nil
}

func isStrings(v any) bool {
	l, ok := v.([]any)
	for _, s := range l {
		if _, isStr := s.(string); !isStr {
			return false
		}
	}
	return ok
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// ---------------------------------------------------------------------------
// The worker's own cost

type cpu struct {
	Self     float64 `json:"self"`
	Children float64 `json:"children"`
}

// cpuMs: user + system CPU of this process (all its threads) and of its
// reaped children since it started, ms (getrusage).
func cpuMs() cpu {
	ms := func(who int) float64 {
		var u syscall.Rusage
		_ = syscall.Getrusage(who, &u)
		return round3(float64(u.Utime.Nano()+u.Stime.Nano()) / 1e6)
	}
	return cpu{ms(syscall.RUSAGE_SELF), ms(syscall.RUSAGE_CHILDREN)}
}

// rssMb: the resident set size now (/proc/self/status VmRSS), MiB; the
// peak where there is no /proc.
func rssMb() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					return round3(kb / 1024)
				}
			}
		}
	}
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return round3(float64(u.Maxrss) / 1024)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// ---------------------------------------------------------------------------
// One session's record (worker_common.Session)

var phases = []string{"connect", "auth", "exec", "read", "close", "disconnect"}

// Report is a protocol `session` line.
type Report struct {
	Type          string      `json:"type"`
	Round         int         `json:"round"`
	Session       int         `json:"session"`
	StartMs       float64     `json:"start_ms"`
	ConnectMs     *float64    `json:"connect_ms"`
	AuthMs        *float64    `json:"auth_ms"`
	ExecMs        *float64    `json:"exec_ms"`
	ReadMs        *float64    `json:"read_ms"`
	CloseMs       *float64    `json:"close_ms"`
	DisconnectMs  *float64    `json:"disconnect_ms"`
	EndMs         float64     `json:"end_ms"`
	ReexecMs      *float64    `json:"reexec_ms"`
	Commands      int         `json:"commands"`
	Bytes         int         `json:"bytes"`
	Lines         int         `json:"lines"`
	ExitCode      *int        `json:"exit_code"`
	Status        string      `json:"status"`
	Error         string      `json:"error"`
	TeardownError *string     `json:"teardown_error"`
	Negotiated    *Negotiated `json:"negotiated"`
}

// Negotiated is what a handshake chose (seam.ts Negotiated).
type Negotiated struct {
	Kex     string `json:"kex"`
	HostKey string `json:"hostKey"`
	Cipher  string `json:"cipher"`
	MAC     string `json:"mac"`
}

// record is one session's marks, phase, counts and outcome, written by
// the session's goroutine alone. Once its time is up (late, set by its
// timer), nothing more is recorded and any failure is the timeout, in the
// step it was in then.
type record struct {
	t0           time.Time
	late         atomic.Bool
	rep          Report
	marks        map[string]*float64
	phase        string
	command, k   int
	final        *int
	finalPending bool
	reexecStart  float64
}

func newRecord(round, number int, t0 time.Time, k int) *record {
	s := &record{t0: t0, marks: map[string]*float64{}, phase: "connect",
		command: 1, k: k}
	s.rep = Report{Type: "session", Round: round, Session: number,
		StartMs: s.now()}
	return s
}

// now: ms since the round start.
func (s *record) now() float64 {
	return float64(time.Since(s.t0).Nanoseconds()) / 1e6
}

// mark ends `phase` of the first command now; the next one begins.
func (s *record) mark(phase string) {
	s.markAt(phase, s.now())
}

// markAt ends `phase` at `t` (ms), taken earlier: see mark.
func (s *record) markAt(phase string, t float64) {
	if s.late.Load() {
		return
	}
	s.marks[phase] = &t
	for i, p := range phases[:len(phases)-1] {
		if p == phase {
			s.phase = phases[i+1]
		}
	}
}

func (s *record) setPhase(p string) {
	if !s.late.Load() {
		s.phase = p
	}
}

// line counts one stdout line of the first command (a final line without
// a newline is a line too).
func (s *record) line(l string) {
	s.rep.Bytes += len(l)
	s.rep.Lines++
}

// where: the step in progress, for messages: `exec`, or `exec (command 2
// of 3)` for a further command.
func (s *record) where() string {
	if s.command == 1 {
		return s.phase
	}
	return fmt.Sprintf("%s (command %d of %d)", s.phase, s.command, s.k)
}

// fine: not failed, or failed only by a nonzero exit.
func (s *record) fine() bool {
	return s.rep.Status == "" || s.rep.Status == "exit_nonzero"
}

// exitStatus: the exit status of the command in progress arrived (nil:
// none), its stdout read to the end. The last command's (command K, or a
// nonzero exit) makes the session complete: a later error, while closing
// the channel or the connection, is a teardown error (see fail).
func (s *record) exitStatus(code *int) {
	if code != nil && (*code != 0 || s.command == s.k) && !s.late.Load() {
		s.final, s.finalPending = code, true
	}
}

// fail: the session failed in the step in progress (first failure wins);
// once its commands completed, the error is a teardown error instead.
func (s *record) fail(err string, authRefused bool) {
	if s.late.Load() {
		s.failWith("timeout", "timed out during "+s.where())
	} else if s.final != nil && s.fine() {
		s.tornDown(err)
	} else {
		s.failWith(statusOfFailure(s.phase, authRefused), s.where()+": "+err)
	}
}

// tornDown: every command completed, then closing failed with `err`: the
// last command is counted, the phases not yet ended end now (the
// connection is gone), and the error is kept as teardown_error.
func (s *record) tornDown(err string) {
	if s.rep.TeardownError != nil {
		return
	}
	where := s.where()
	if s.finalPending {
		s.commandDone(s.final)
		if s.command == 1 && s.marks["close"] == nil {
			s.mark("close")
		}
		if s.command > 1 && s.rep.Commands == s.k && s.rep.ReexecMs == nil {
			d := s.now() - s.reexecStart
			s.rep.ReexecMs = &d
		}
	}
	e := where + ": " + err
	s.rep.TeardownError = &e
	if s.marks["disconnect"] == nil {
		t := s.now()
		s.marks["disconnect"] = &t
	}
}

func (s *record) failWith(status, err string) {
	if s.rep.Status == "" {
		s.rep.Status, s.rep.Error = status, err
	}
}

// commandDone: one command's exit status arrived (nil: the channel closed
// without one); whether to go on with the next command.
func (s *record) commandDone(code *int) bool {
	if code == nil || s.late.Load() {
		s.fail("channel closed without an exit status", false)
		return false
	}
	s.finalPending = false
	if s.command == 1 || *code != 0 {
		s.rep.ExitCode = code
	}
	if *code == 0 {
		// Only a command that exited 0 counts as completed (the seam's rule).
		s.rep.Commands++
	} else {
		which := ""
		if s.command > 1 {
			which = fmt.Sprintf(" (command %d of %d)", s.command, s.k)
		}
		s.failWith("exit_nonzero", fmt.Sprintf("exit code %d%s", *code, which))
		return false
	}
	return true
}

// report: the session's protocol line (the session ends now).
func (s *record) report() Report {
	if s.rep.Status == "" && s.marks["disconnect"] == nil {
		// Not failed, yet not through: never report that as ok.
		s.fail("session ended before the connection was closed", false)
	}
	r := s.rep
	r.EndMs = round3(s.now())
	if r.Status == "" {
		r.Status = "ok"
	}
	if r.Status == "ok" {
		r.Error = ""
	}
	ms := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := round3(*v)
		return &x
	}
	r.StartMs = round3(r.StartMs)
	r.ConnectMs, r.AuthMs = ms(s.marks["connect"]), ms(s.marks["auth"])
	r.ExecMs, r.ReadMs = ms(s.marks["exec"]), ms(s.marks["read"])
	r.CloseMs, r.DisconnectMs = ms(s.marks["close"]), ms(s.marks["disconnect"])
	r.ReexecMs = ms(r.ReexecMs)
	return r
}

// statusOfFailure: the status of a session that failed in `phase`.
func statusOfFailure(phase string, authRefused bool) string {
	switch phase {
	case "connect":
		return "connect_error"
	case "auth":
		if authRefused {
			return "auth_error"
		}
		return "connect_error"
	case "exec":
		return "exec_error"
	}
	return "read_error"
}

// ---------------------------------------------------------------------------
// A round

// hostRound is what the sessions of one host of a round share: the
// request with that host's fields and the client configuration (key and
// known hosts read once per round), or the error that fails them all.
type hostRound struct {
	req        Request
	addr       string
	config     ssh.ClientConfig
	agent      string
	failStatus string
	failError  string
}

// memo reads each file once per round (hosts of a fleet may share one).
type memo map[string]any

func (m memo) once(key string, read func() any) any {
	if v, ok := m[key]; ok {
		return v
	}
	m[key] = read()
	return m[key]
}

type keyOrError struct {
	signer ssh.Signer
	err    error
}

type knownOrError struct {
	cb  ssh.HostKeyCallback
	err error
}

func newHostRound(req Request, h Host, files memo) *hostRound {
	req.Host = h
	r := &hostRound{req: req,
		addr: net.JoinHostPort(h.Host, strconv.Itoa(h.Port))}
	if e := unsupportedPins(req.Algorithms); e != "" {
		r.failStatus, r.failError = "connect_error", e
		return r
	}
	r.config = ssh.ClientConfig{User: h.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if req.Auth.Kind == "agent" && req.Auth.AgentSocket != nil {
		r.agent = *req.Auth.AgentSocket
	} else {
		k := files.once("key "+h.IdentityFile, func() any {
			pem, err := os.ReadFile(h.IdentityFile)
			if err != nil {
				return keyOrError{nil, err}
			}
			s, err := ssh.ParsePrivateKey(pem)
			return keyOrError{s, err}
		}).(keyOrError)
		if k.err != nil {
			r.failStatus, r.failError = "auth_error", "auth: "+osError(k.err)
			return r
		}
		r.config.Auth = []ssh.AuthMethod{ssh.PublicKeys(k.signer)}
	}
	if req.HostKeyPolicy == "known_hosts" {
		if h.KnownHostsFile == nil {
			// A fleet host without a known_hosts file: refused, never
			// any key.
			r.failStatus = "connect_error"
			r.failError = fmt.Sprintf("known_hosts: no file for %s:%d", h.Host, h.Port)
			return r
		}
		path := *h.KnownHostsFile
		kh := files.once("known_hosts "+path, func() any {
			cb, err := knownhosts.New(path)
			return knownOrError{cb, err}
		}).(knownOrError)
		if kh.err != nil {
			r.failStatus, r.failError = "connect_error", "known_hosts: "+osError(kh.err)
			return r
		}
		r.config.HostKeyCallback = kh.cb
		// The algorithms of the host's known keys first, as the other
		// clients (and OpenSSH) offer them, so that a second key of a
		// type x/crypto prefers does not hide the known one.
		r.config.HostKeyAlgorithms = knownFirst(kh.cb, r.addr)
	}
	pins := req.Algorithms
	r.config.KeyExchanges, r.config.Ciphers = pins.Kex, pins.Ciphers
	r.config.MACs = pins.MACs
	if hk := pins.HostKeyAlgorithms; len(hk) > 0 {
		r.config.HostKeyAlgorithms = hk
	}
	return r
}

// unsupportedPins: the error of a session whose pins x/crypto lacks, in
// the words of algorithms.ts unsupportedPins; "" when it has them all.
func unsupportedPins(pins Pins) string {
	var missing []string
	for _, k := range pinKinds {
		for _, name := range pins.of(k[0]) {
			if !contains(supported[k[0]], name) {
				missing = append(missing, k[1]+" "+name)
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("handshake: %s %s does not support %s", client,
		xcryptoVersion, strings.Join(missing, ", "))
}

// probeKey is a key no known_hosts file has: asked about it, knownhosts
// answers with the keys it knows for the host.
var probeKey = func() ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	k, _ := ssh.NewPublicKey(pub)
	return k
}()

// knownFirst: x/crypto's host-key algorithms, those of the key types
// known_hosts has for `addr` first (each part in x/crypto's order).
func knownFirst(cb ssh.HostKeyCallback, addr string) []string {
	var known []string
	var ke *knownhosts.KeyError
	if errors.As(cb(addr, &net.TCPAddr{}, probeKey), &ke) {
		for _, w := range ke.Want {
			known = append(known, w.Key.Type())
		}
	}
	var first, rest []string
	for _, a := range hostKeyAlgorithms {
		format := a
		switch a {
		case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
			format = ssh.KeyAlgoRSA
		case ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSASHA512v01:
			format = ssh.CertAlgoRSAv01
		}
		if contains(known, format) {
			first = append(first, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(first, rest...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runRound(req *Request, t0 time.Time) {
	if req.Sessions > 0 {
		// One hostRound per host of the fleet (one for a single host),
		// all with the same round start; session n goes to host
		// (n - 1) % hosts.
		hosts := req.Hosts
		if len(hosts) == 0 {
			hosts = []Host{req.Host}
		}
		files := memo{}
		rounds := make([]*hostRound, len(hosts))
		for i, h := range hosts {
			rounds[i] = newHostRound(*req, h, files)
		}
		var wg sync.WaitGroup
		for n := 1; n <= req.Sessions; n++ {
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				send(rounds[(n-1)%len(rounds)].session(n, t0))
			}(n)
		}
		wg.Wait()
	}
	send(struct {
		Type  string  `json:"type"`
		Round int     `json:"round"`
		CPU   cpu     `json:"cpu_ms"`
		RSS   float64 `json:"rss_mb"`
	}{"round_done", req.Round, cpuMs(), rssMb()})
}

// ---------------------------------------------------------------------------
// One session

func (h *hostRound) session(n int, t0 time.Time) Report {
	req := &h.req
	s := newRecord(req.Round, n, t0, req.CommandsPerSession)
	if h.failStatus != "" {
		s.failWith(h.failStatus, h.failError)
		return s.report()
	}
	// The timer ends the session's context: its dial is abandoned, its
	// connections close, and the step in progress fails at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timeout := time.Duration(req.TimeoutMs * float64(time.Millisecond))
	timer := time.AfterFunc(timeout, func() { s.late.Store(true); cancel() })
	defer timer.Stop()
	if msg, refused := h.steps(ctx, s); msg != "" {
		s.fail(msg, refused)
	}
	return s.report()
}

// closeWhenDone closes c when ctx ends (time is up, or the session over).
func closeWhenDone(ctx context.Context, c io.Closer) {
	go func() {
		<-ctx.Done()
		c.Close()
	}()
}

// steps runs the session; the error that ended it ("" for none) and
// whether it is the server refusing the login.
func (h *hostRound) steps(ctx context.Context, s *record) (string, bool) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return osError(err), false
	}
	closeWhenDone(ctx, conn)
	s.mark("connect")
	cfg := h.config
	if h.agent != "" {
		a, err := net.Dial("unix", h.agent)
		if err != nil {
			return "agent: " + osError(err), true
		}
		closeWhenDone(ctx, a)
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(a).Signers)}
	}
	// Set on x/crypto's handshake goroutine, read once NewClientConn
	// returned (which waits for the handshake's outcome).
	accepted, refusal := false, ""
	check := cfg.HostKeyCallback
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) && len(ke.Want) > 0 {
			refusal = fmt.Sprintf("host key does not match known_hosts (%s %s)",
				key.Type(), ssh.FingerprintSHA256(key))
		} else if errors.As(err, &ke) {
			refusal = fmt.Sprintf("host key not verifiable: %s not found in known_hosts", host)
		}
		accepted = err == nil
		return err
	}
	tap := &kexTap{Conn: conn}
	c, chans, reqs, err := ssh.NewClientConn(tap, h.addr, &cfg)
	if accepted {
		// The keys went into use: what they were is known.
		s.rep.Negotiated = tap.negotiated()
	}
	if err != nil {
		if refusal != "" {
			return refusal, false
		}
		if m := tap.noCommon(); m != "" {
			return m, false
		}
		msg := strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
		return msg, strings.Contains(msg, "ssh: unable to authenticate")
	}
	s.mark("auth")
	cl := ssh.NewClient(c, chans, reqs)
	code, err := runCommand(cl, h.req.Command, s, true)
	if err != nil {
		return err.Error(), false
	}
	goOn := s.commandDone(code)
	if s.fine() {
		// The first command's channel is closed; the connection stays.
		s.mark("close")
	}
	if goOn && s.k > 1 {
		s.reexecStart = s.now()
		for s.command = 2; s.command <= s.k; s.command++ {
			code, err := runCommand(cl, h.req.Command, s, false)
			if err != nil {
				return err.Error(), false
			}
			if !s.commandDone(code) {
				break
			}
		}
		if s.rep.Commands == s.k && !s.late.Load() {
			d := s.now() - s.reexecStart
			s.rep.ReexecMs = &d
		}
		s.command, s.phase = 1, "disconnect"
	}
	err = cl.Close()
	ended := cl.Wait()
	if errors.Is(err, net.ErrClosed) {
		// x/crypto had closed it already: the connection had ended.
		if errors.Is(ended, io.EOF) {
			return "connection closed by the server", false
		}
		return osError(ended), false
	} else if err != nil {
		return err.Error(), false
	}
	if s.fine() {
		s.mark("disconnect")
	}
	return "", false
}

// runCommand runs one command on a new channel: exec, stdout read line by
// line to EOF, exit status, channel closed. Marks exec and read for the
// first command. Returns the exit code (nil when none came).
func runCommand(cl *ssh.Client, command string, s *record, first bool) (*int, error) {
	s.setPhase("exec")
	sess, err := cl.NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start(command); err != nil {
		return nil, err
	}
	if first {
		s.mark("exec")
	} else {
		s.setPhase("read")
	}
	r := bufio.NewReader(stdout)
	for {
		l, err := r.ReadString('\n')
		if l != "" && first {
			s.line(l)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	eof := s.now()
	waitErr := sess.Wait()
	var missing *ssh.ExitMissingError
	if errors.As(waitErr, &missing) && connectionEnded(cl) {
		// x/crypto closes every channel (a clean EOF) when the connection
		// drops: without an exit status that was no end of the output.
		return nil, errors.New("connection closed before end of file")
	}
	if first {
		s.markAt("read", eof)
	} else {
		s.setPhase("close")
	}
	var code *int
	var exit *ssh.ExitError
	switch err := waitErr; {
	case err == nil:
		code = new(int)
	case errors.As(err, &exit) && exit.Signal() != "":
		s.fail("killed by signal "+exit.Signal(), false)
		return nil, nil
	case errors.As(err, &exit):
		c := exit.ExitStatus()
		code = &c
	case errors.As(err, &missing):
	default:
		return nil, err
	}
	s.exitStatus(code)
	// Wait returned once the channel was closed both ways: closing it
	// again says io.EOF.
	if err := sess.Close(); err != nil && err != io.EOF {
		s.fail(err.Error(), false)
	}
	return code, nil
}

// connectionEnded: whether the client's connection has ended, or ends
// within 200 ms (x/crypto closes the channels of a lost connection just
// before its Wait returns).
func connectionEnded(cl *ssh.Client) bool {
	done := make(chan struct{})
	go func() {
		cl.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// osError: a socket error as a short message (`connection refused`).
func osError(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ---------------------------------------------------------------------------
// The negotiated algorithms, from both KEXINIT messages

// kexTap is the session's connection, recording the first packet each
// way (the KEXINIT, in the clear) and nothing after it.
type kexTap struct {
	net.Conn
	in, out tapDir
}

type tapDir struct {
	done    atomic.Bool
	mu      sync.Mutex
	buf     []byte
	kexinit []byte
}

func (t *kexTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.in.add(p[:n])
	return n, err
}

func (t *kexTap) Write(p []byte) (int, error) {
	t.out.add(p)
	return t.Conn.Write(p)
}

func (d *tapDir) add(p []byte) {
	if d.done.Load() || len(p) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = append(d.buf, p...)
	if k, end := firstPacket(d.buf); end {
		d.kexinit, d.buf = k, nil
		d.done.Store(true)
	}
}

func (d *tapDir) payload() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.kexinit
}

// firstPacket: the payload of the first binary packet after the version
// line (lines before it skipped), when it is a KEXINIT; end says whether
// to stop looking (found, or not to be found).
func firstPacket(b []byte) (kexinit []byte, end bool) {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil, len(b) > 70000
		}
		line := b[:i]
		b = b[i+1:]
		if bytes.HasPrefix(line, []byte("SSH-")) {
			break
		}
	}
	if len(b) < 5 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > 65536 {
		return nil, true
	}
	if len(b) < 4+n {
		return nil, false
	}
	pad := int(b[4])
	if n < pad+2 || b[5] != 20 {
		return nil, true
	}
	return append([]byte(nil), b[5:4+n-pad]...), true
}

// kexinitLists: the ten name-lists of a KEXINIT payload: kex, host key,
// ciphers c->s, s->c, MACs c->s, s->c, ...; nil when it does not parse.
func kexinitLists(p []byte) [][]string {
	at := 17 // message number and cookie
	var lists [][]string
	for i := 0; i < 10; i++ {
		if at+4 > len(p) {
			return nil
		}
		n := int(binary.BigEndian.Uint32(p[at:]))
		at += 4
		if n > len(p)-at {
			return nil
		}
		var names []string
		if n > 0 {
			names = strings.Split(string(p[at:at+n]), ",")
		}
		lists = append(lists, names)
		at += n
	}
	return lists
}

// firstCommon: RFC 4253 7.1, the first of the client's algorithms the
// server also lists.
func firstCommon(client, server []string) string {
	for _, c := range client {
		if contains(server, c) {
			return c
		}
	}
	return ""
}

func isAEAD(cipher string) bool {
	return strings.Contains(cipher, "-gcm") || strings.Contains(cipher, "poly1305")
}

// negotiated: the algorithms chosen (client to server) in OpenSSH's
// names; nil when the KEXINITs were not both seen.
func (t *kexTap) negotiated() *Negotiated {
	c, s := kexinitLists(t.out.payload()), kexinitLists(t.in.payload())
	if c == nil || s == nil {
		return nil
	}
	n := Negotiated{firstCommon(c[0], s[0]), firstCommon(c[1], s[1]),
		firstCommon(c[2], s[2]), firstCommon(c[4], s[4])}
	if n.Kex == "" || n.HostKey == "" || n.Cipher == "" {
		return nil
	}
	if isAEAD(n.Cipher) || n.MAC == "" {
		n.MAC = implicitMAC
	}
	return &n
}

// noCommon: the first kind of algorithm both KEXINITs have none of in
// common, in the words of seam.ts noCommonAlgorithm; "" when none.
func (t *kexTap) noCommon() string {
	c, s := kexinitLists(t.out.payload()), kexinitLists(t.in.payload())
	if c == nil || s == nil {
		return ""
	}
	cipher := firstCommon(c[2], s[2])
	for _, k := range []struct {
		i     int
		label string
	}{{0, "key exchange"}, {1, "host key algorithm"}, {2, "cipher"}, {4, "MAC"}} {
		if k.i == 4 && cipher != "" && isAEAD(cipher) {
			continue
		}
		if firstCommon(c[k.i], s[k.i]) == "" {
			theirs := strings.Join(s[k.i], ",")
			if theirs == "" {
				theirs = "none"
			}
			return fmt.Sprintf("no common %s with the server (client offers: %s; server offers: %s)",
				k.label, strings.Join(c[k.i], ","), theirs)
		}
	}
	return ""
}

// ---------------------------------------------------------------------------

func main() {
	// A benchmark that went away: a write error, then exit 0 (see send).
	signal.Ignore(syscall.SIGPIPE)
	out.enc.SetEscapeHTML(false)
	send(struct {
		Type     string `json:"type"`
		Protocol int    `json:"protocol"`
		Client   string `json:"client"`
		Version  string `json:"version"`
	}{"hello", protocolVersion, client,
		fmt.Sprintf("%s (%s)", xcryptoVersion, runtime.Version())})
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			t0 := time.Now()
			req, perr := parseRequest(line)
			if perr != nil {
				fmt.Fprintf(os.Stderr, "bad request: %v\n", perr)
				os.Exit(exitBadRequest)
			}
			runRound(req, t0)
		}
		if err != nil {
			// stdin closed: exit.
			return
		}
	}
}
