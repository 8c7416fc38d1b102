// Command ssh-bench-server is the benchmark's embedded SSH server on
// golang.org/x/crypto/ssh: cheap per session, so that on a small machine
// the clients, not the server, set the wall times.
//
// It reads its whole configuration as one JSON object on stdin (nothing on
// its command line but flags without values), listens on the given
// address and port 0, generates its host key in memory, and prints one JSON
// line on stdout: the port the kernel chose and the host public key. Logs
// go to stderr. It serves:
//
//   - public-key auth of one user with one key (the run's own), nothing
//     else: no password, no keyboard-interactive, at most MaxAuthTries
//     attempts, and a deadline on the whole handshake;
//   - "session" channels only, with "exec" only (no pty, shell, subsystem,
//     env, agent or X11 forwarding; no TCP forwarding of either direction);
//   - the payload's command ("cat <payload>") in-process, from memory,
//     in OpenSSH's order (data, EOF, exit-status 0, close); any other
//     command through /bin/sh -c as this process's user.
//
// Limits are sized by the caller like the embedded sshd's: at most
// MaxStartups connections in the handshake at once (more are closed at
// once, as sshd drops them) and MaxSessions channels per connection.
//
// Built offline in GOPATH mode against Debian's golang-golang-x-crypto-dev
// (see src/util/go_build.ts); the x/crypto version is set at link time.
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// xcryptoVersion is golang.org/x/crypto's version, set with -ldflags -X.
var xcryptoVersion = "unknown"

// Config is what the benchmark sends on stdin.
type Config struct {
	Listen         string   `json:"listen"`
	User           string   `json:"user"`
	Home           string   `json:"home"`
	AuthorizedKey  string   `json:"authorized_key"`
	PayloadCommand string   `json:"payload_command"`
	PayloadFile    string   `json:"payload_file"`
	HostKeyType    string   `json:"host_key_type"`
	Kex            []string `json:"kex"`
	Ciphers        []string `json:"ciphers"`
	MACs           []string `json:"macs"`
	MaxStartups    int      `json:"max_startups"`
	MaxSessions    int      `json:"max_sessions"`
	HandshakeMs    int      `json:"handshake_timeout_ms"`
	MaxAuthTries   int      `json:"max_auth_tries"`
}

// Ready is the one line printed on stdout once the listener is up.
type Ready struct {
	Port    int    `json:"port"`
	HostKey string `json:"host_key"`
	Version string `json:"version"`
	Go      string `json:"go"`
}

// Supported lists what this build can negotiate (-list).
type Supported struct {
	Kex               []string `json:"kex"`
	Ciphers           []string `json:"ciphers"`
	MACs              []string `json:"macs"`
	HostKeyAlgorithms []string `json:"host_key_algorithms"`
	XCrypto           string   `json:"xcrypto"`
}

// The server side of x/crypto 0.4.0 (common.go, kex.go): group-exchange
// kex is client-only there, and the legacy ciphers are left out on purpose.
var supported = Supported{
	Kex: []string{"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1"},
	Ciphers: []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com",
		"aes128-ctr", "aes192-ctr", "aes256-ctr"},
	MACs: []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256",
		"hmac-sha1", "hmac-sha1-96"},
	HostKeyAlgorithms: []string{"ssh-ed25519", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
		"rsa-sha2-256", "ssh-rsa"},
}

func main() {
	list := flag.Bool("list", false, "print the supported algorithms as JSON and exit")
	version := flag.Bool("version", false, "print the x/crypto version and exit")
	// The run's temp dir: unused here, on the command line so that a later
	// run can tell a stale server of a killed run by it.
	flag.String("run-dir", "", "the run's temp dir (identifies the server)")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if *version {
		fmt.Println(xcryptoVersion)
		return
	}
	if *list {
		supported.XCrypto = xcryptoVersion
		_ = json.NewEncoder(os.Stdout).Encode(supported)
		return
	}
	var cfg Config
	if err := json.NewDecoder(os.Stdin).Decode(&cfg); err != nil {
		log.Fatalf("config on stdin: %v", err)
	}
	if err := serve(&cfg); err != nil {
		log.Fatal(err)
	}
}

// hostSigner generates the host key in memory, of the type asked for.
func hostSigner(kind string) (ssh.Signer, error) {
	switch kind {
	case "", "ssh-ed25519":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return ssh.NewSignerFromKey(priv)
	case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
		curve := map[string]elliptic.Curve{
			"ecdsa-sha2-nistp256": elliptic.P256(),
			"ecdsa-sha2-nistp384": elliptic.P384(),
			"ecdsa-sha2-nistp521": elliptic.P521(),
		}[kind]
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, err
		}
		return ssh.NewSignerFromKey(priv)
	case "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa":
		priv, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			return nil, err
		}
		return ssh.NewSignerFromKey(priv)
	}
	return nil, fmt.Errorf("host key type %q is not supported", kind)
}

// only keeps the names of want that are in have; nil when want is nil.
func only(want, have []string) []string {
	if want == nil {
		return nil
	}
	out := []string{}
	for _, w := range want {
		for _, h := range have {
			if w == h {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

func serve(cfg *Config) error {
	allowed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cfg.AuthorizedKey))
	if err != nil {
		return fmt.Errorf("authorized_key: %v", err)
	}
	var payload []byte
	if cfg.PayloadFile != "" {
		if payload, err = os.ReadFile(cfg.PayloadFile); err != nil {
			return err
		}
	}
	signer, err := hostSigner(cfg.HostKeyType)
	if err != nil {
		return err
	}
	want := allowed.Marshal()
	sc := &ssh.ServerConfig{
		MaxAuthTries:  cfg.MaxAuthTries,
		ServerVersion: "SSH-2.0-ssh-bench-go_x-crypto-" + xcryptoVersion,
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() != cfg.User {
				return nil, fmt.Errorf("user %q is not the benchmark's", c.User())
			}
			if string(k.Marshal()) != string(want) {
				return nil, errors.New("not the run's key")
			}
			return &ssh.Permissions{}, nil
		},
	}
	// Only names this build has (the caller filters too): x/crypto offers
	// pinned names it cannot run and fails the handshake on them.
	sc.KeyExchanges = only(cfg.Kex, supported.Kex)
	sc.Ciphers = only(cfg.Ciphers, supported.Ciphers)
	sc.MACs = only(cfg.MACs, supported.MACs)
	sc.AddHostKey(signer)

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Listen, "0"))
	if err != nil {
		return err
	}
	ready := Ready{
		Port:    ln.Addr().(*net.TCPAddr).Port,
		HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
		Version: xcryptoVersion,
		Go:      runtime.Version(),
	}
	if err := json.NewEncoder(os.Stdout).Encode(ready); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ln.Close()
		os.Exit(0)
	}()
	var starting int64
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil // SIGTERM closed the listener
			}
			// EMFILE and the like pass: log, back off, go on, as sshd does.
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if atomic.AddInt64(&starting, 1) > int64(cfg.MaxStartups) {
			// Like sshd at MaxStartups: drop before the banner.
			atomic.AddInt64(&starting, -1)
			conn.Close()
			continue
		}
		go handle(conn, sc, cfg, payload, &starting)
	}
}

func handle(conn net.Conn, sc *ssh.ServerConfig, cfg *Config, payload []byte, starting *int64) {
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		if qc, err := newQuickAckConn(tc); err == nil {
			conn = qc
		}
	}
	_ = conn.SetDeadline(time.Now().Add(time.Duration(cfg.HandshakeMs) * time.Millisecond))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, sc)
	atomic.AddInt64(starting, -1)
	if err != nil {
		return
	}
	_ = conn.SetDeadline(time.Time{})
	defer sconn.Close()
	// Global requests: tcpip-forward and the like are refused.
	go ssh.DiscardRequests(reqs)
	var open int64
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.Prohibited, "only session channels")
			continue
		}
		if atomic.AddInt64(&open, 1) > int64(cfg.MaxSessions) {
			atomic.AddInt64(&open, -1)
			_ = nc.Reject(ssh.ResourceShortage, "too many sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			atomic.AddInt64(&open, -1)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer atomic.AddInt64(&open, -1)
			session(ch, creqs, cfg, payload)
		}()
	}
	wg.Wait()
}

// session serves one session channel: the first "exec" runs, every other
// request is refused.
func session(ch ssh.Channel, reqs <-chan *ssh.Request, cfg *Config, payload []byte) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			// pty-req, shell, subsystem, env, x11-req, agent forwarding...
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		// Everything else on this channel is refused while it runs.
		go func() {
			for r := range reqs {
				if r.WantReply {
					_ = r.Reply(false, nil)
				}
			}
		}()
		var status uint32
		if p.Command == cfg.PayloadCommand && payload != nil {
			status = servePayload(ch, payload)
		} else {
			status = runShell(ch, p.Command, cfg)
		}
		_ = ch.CloseWrite()
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// servePayload writes the payload as cat would (reads of up to 128 KiB,
// each written at once) and drains the client's stdin.
func servePayload(ch ssh.Channel, payload []byte) uint32 {
	go func() { _, _ = io.Copy(io.Discard, ch) }()
	const block = 128 << 10
	for off := 0; off < len(payload); off += block {
		end := off + block
		if end > len(payload) {
			end = len(payload)
		}
		if _, err := ch.Write(payload[off:end]); err != nil {
			return 1
		}
	}
	return 0
}

// runShell runs a command through /bin/sh -c as this process's user, in
// its home, with a minimal environment.
func runShell(ch ssh.Channel, command string, cfg *Config) uint32 {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = cfg.Home
	cmd.Env = []string{
		"HOME=" + cfg.Home, "USER=" + cfg.User, "LOGNAME=" + cfg.User,
		"SHELL=/bin/sh", "PATH=/usr/local/bin:/usr/bin:/bin",
	}
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 255
	}
	if err := cmd.Start(); err != nil {
		log.Printf("exec: %v", err)
		return 127
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + uint32(ws.Signal())
		}
		return uint32(ee.ExitCode())
	}
	return 255
}

// quickAckConn acknowledges every segment at once (TCP_QUICKACK, which
// the kernel clears again after it, so it is set after every read). A
// client that does not set TCP_NODELAY (OpenSSH's ssh outside interactive
// sessions) holds its next small packet until the last one is
// acknowledged; with the kernel's delayed ACK that costs up to 40 ms per
// round trip of the handshake. sshd answers those packets with data of its
// own, which carries the ACK; this server answers some of them only later.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func newQuickAckConn(tc *net.TCPConn) (*quickAckConn, error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	q := &quickAckConn{TCPConn: tc, raw: raw}
	q.quickAck()
	return q, nil
}

func (q *quickAckConn) quickAck() {
	_ = q.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (q *quickAckConn) Read(b []byte) (int, error) {
	n, err := q.TCPConn.Read(b)
	q.quickAck()
	return n, err
}
