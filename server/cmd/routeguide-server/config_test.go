package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestRunRejectsBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // in the error, in order
	}{{
		name: "signed-in writes without an issuer",
		args: []string{"--writes=signed-in"},
		want: []string{"--writes signed-in needs --auth-issuer"},
	}, {
		name: "issuer without an audience",
		args: []string{"--auth-issuer=http://127.0.0.1:1"},
		want: []string{"--auth-issuer needs --auth-audience"},
	}, {
		name: "who may write",
		args: []string{"--writes=everyone"},
		want: []string{"-writes", "want anyone or signed-in"},
	}, {
		name: "write rate",
		env:  map[string]string{"ROUTEGUIDE_WRITE_RATE": "0"},
		want: []string{"ROUTEGUIDE_WRITE_RATE 0: must be positive"},
	}, {
		name: "trusted proxies",
		args: []string{"--trusted-proxies=10.0.0.0/8,proxy.example"},
		want: []string{"-trusted-proxies", `"proxy.example" is neither an address nor a CIDR prefix`},
	}, {
		name: "log level from env",
		env:  map[string]string{"ROUTEGUIDE_LOG_LEVEL": "verbose"},
		want: []string{`ROUTEGUIDE_LOG_LEVEL="verbose"`, "--log-level"},
	}, {
		name: "log format from env",
		env:  map[string]string{"ROUTEGUIDE_LOG_FORMAT": "xml"},
		want: []string{`ROUTEGUIDE_LOG_FORMAT="xml"`, "want text or json"},
	}, {
		name: "duration from env",
		env:  map[string]string{"ROUTEGUIDE_SHUTDOWN_TIMEOUT": "soon"},
		want: []string{`ROUTEGUIDE_SHUTDOWN_TIMEOUT="soon"`, "invalid duration for --shutdown-timeout"},
	}, {
		name: "bool from env",
		env:  map[string]string{"ROUTEGUIDE_ADMIN_ALLOW_REMOTE": "maybe"},
		want: []string{`ROUTEGUIDE_ADMIN_ALLOW_REMOTE="maybe"`},
	}, {
		name: "every bad variable at once",
		env:  map[string]string{"ROUTEGUIDE_LOG_LEVEL": "verbose", "ROUTEGUIDE_SHUTDOWN_TIMEOUT": "soon"},
		want: []string{"ROUTEGUIDE_LOG_LEVEL", "ROUTEGUIDE_SHUTDOWN_TIMEOUT"},
	}, {
		name: "negative duration",
		args: []string{"--shutdown-timeout=-1s"},
		want: []string{"--shutdown-timeout -1s: must not be negative"},
	}, {
		name: "default timeout past the largest",
		args: []string{"--default-timeout=2h", "--max-timeout=1h"},
		want: []string{"--default-timeout 2h0m0s must not be longer than --max-timeout 1h0m0s"},
	}, {
		name: "connection window below HTTP/2's",
		env:  map[string]string{"ROUTEGUIDE_CONN_RECEIVE_WINDOW": "1000"},
		want: []string{"ROUTEGUIDE_CONN_RECEIVE_WINDOW 1000: must be at least 65536"},
	}, {
		name: "stream window past the connection's",
		args: []string{"--stream-receive-window=200000"},
		want: []string{"--stream-receive-window 200000 must not be larger than --conn-receive-window 131072"},
	}, {
		name: "store smaller than a note",
		env:  map[string]string{"ROUTEGUIDE_MAX_STORED_NOTE_BYTES": "1000"},
		want: []string{"ROUTEGUIDE_MAX_STORED_NOTE_BYTES 1000 must hold at least one note", "--max-note-bytes 1024"},
	}, {
		name: "admin on every interface from env",
		env:  map[string]string{"ROUTEGUIDE_ADMIN_ADDR": "0.0.0.0:9090"},
		want: []string{`ROUTEGUIDE_ADMIN_ADDR "0.0.0.0:9090" is not a loopback address`, "--admin-allow-remote"},
	}, {
		name: "admin with no host from a flag",
		args: []string{"--admin-addr=:9090"},
		want: []string{`--admin-addr ":9090" is not a loopback address`},
	}, {
		name: "admin with no port",
		env:  map[string]string{"ROUTEGUIDE_ADMIN_ADDR": "localhost"},
		want: []string{`ROUTEGUIDE_ADMIN_ADDR "localhost": want HOST:PORT`},
	}, {
		name: "certificate without key",
		env:  map[string]string{"ROUTEGUIDE_TLS_CERT": "cert.pem"},
		want: []string{"ROUTEGUIDE_TLS_CERT and --tls-key go together"},
	}, {
		name: "missing dataset",
		env:  map[string]string{"ROUTEGUIDE_FEATURES": "/nonexistent/features.json"},
		want: []string{"ROUTEGUIDE_FEATURES", "/nonexistent/features.json"},
	}, {
		name: "bad listen address",
		env:  map[string]string{"ROUTEGUIDE_ADDR": "127.0.0.1:notaport"},
		want: []string{"ROUTEGUIDE_ADDR", "notaport"},
	}, {
		name: "unknown trace exporter",
		env:  map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
		want: []string{`OTEL_TRACES_EXPORTER="zipkin"`, "want otlp or none"},
	}, {
		name: "unknown OTLP protocol",
		env:  map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		want: []string{`OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`, "want http/protobuf or grpc"},
	}, {
		name: "notes store that is not a URL",
		env:  map[string]string{"ROUTEGUIDE_NOTES": "redis"},
		want: []string{`ROUTEGUIDE_NOTES: "redis" is neither memory nor a URL`},
	}, {
		name: "notes store with another scheme, password hidden",
		args: []string{"--notes=http://user:secret@127.0.0.1:4222"},
		want: []string{`--notes: "http://user:xxxxx@127.0.0.1:4222" has scheme "http"`},
	}, {
		name: "watch cap switched off",
		env:  map[string]string{"ROUTEGUIDE_MAX_WATCHES_PER_CLIENT": "0"},
		want: []string{"ROUTEGUIDE_MAX_WATCHES_PER_CLIENT must be positive"},
	}, {
		name: "NATS password file for the memory store",
		args: []string{"--notes-password-file=pw"},
		want: []string{"--notes-password-file needs --notes to be NATS URLs"},
	}, {
		name: "NATS password file with a password in the URL too",
		args: []string{"--notes=nats://u:p@127.0.0.1:4222", "--notes-password-file=pw"},
		want: []string{`"nats://u:xxxxx@127.0.0.1:4222" has a password already`, "--notes-password-file"},
	}, {
		name: "NATS password file without a user",
		args: []string{"--notes=nats://127.0.0.1:4222", "--notes-password-file=pw"},
		want: []string{"names no user for the password of --notes-password-file"},
	}, {
		name: "NATS credentials for the memory store",
		args: []string{"--nats-creds=nats.creds"},
		want: []string{"--nats-creds needs --notes to be NATS URLs"},
	}, {
		name: "missing NATS credentials file",
		args: []string{"--notes=nats://127.0.0.1:4222", "--nats-creds=/nonexistent/nats.creds"},
		want: []string{"--nats-creds", "/nonexistent/nats.creds"},
	}, {
		name: "too many notes replicas",
		env:  map[string]string{"ROUTEGUIDE_NOTES": "nats://127.0.0.1:4222", "ROUTEGUIDE_NOTES_REPLICAS": "7"},
		want: []string{"ROUTEGUIDE_NOTES_REPLICAS 7: JetStream keeps 1 to 5 replicas"},
	}, {
		name: "stray argument",
		args: []string{"serve"},
		want: []string{`unexpected argument "serve"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			// Should a check be missing, the server must not listen beyond
			// loopback or on a fixed port.
			args := append([]string{"--addr=127.0.0.1:0"}, tt.args...)
			if tt.env["ROUTEGUIDE_ADDR"] != "" {
				args = tt.args
			}
			err := run(t.Context(), args, func(name string) string { return tt.env[name] }, &stderr)
			if err == nil {
				t.Fatalf("run succeeded, want an error naming %v; stderr:\n%s", tt.want, stderr.String())
			}
			rest := err.Error()
			for _, want := range tt.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("error %q does not name %q", err, want)
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

func TestRunFlagsWinOverEnvironment(t *testing.T) {
	t.Parallel()
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--log-format=json"}, map[string]string{
		"ROUTEGUIDE_ADDR":       "not an address",
		"ROUTEGUIDE_LOG_FORMAT": "text",
		"ROUTEGUIDE_LOG_LEVEL":  "debug", // not overridden: debug records appear
	})
	// A probe's health check, in the Connect protocol with JSON; it logs at
	// debug.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.addr+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	httpClient := &http.Client{Transport: &http.Transport{}}
	defer httpClient.CloseIdleConnections()
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("health check: %s", res.Status)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}

	// startRun found the address in JSON, so --log-format won over the
	// environment; ROUTEGUIDE_LOG_LEVEL, which no flag overrode, applies.
	s.logs.mu.Lock()
	lines := slices.Clone(s.logs.lines)
	s.logs.mu.Unlock()
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line not in JSON: %q", line)
		}
	}
	found := false
	for _, r := range s.logs.records() {
		if r["level"] == "DEBUG" && r["procedure"] == "/grpc.health.v1.Health/Check" {
			found = true
		}
	}
	if !found {
		t.Errorf("no DEBUG record of the health check:\n%s", strings.Join(lines, "\n"))
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if err := run(t.Context(), []string{"--help"}, func(string) string { return "" }, &stderr); err != nil {
		t.Fatalf("run --help: %v", err)
	}
	help := stderr.String()
	for _, want := range []string{
		"-addr", "[$ROUTEGUIDE_ADDR]", `(default "localhost:50051")`,
		"-features", "[$ROUTEGUIDE_FEATURES]",
		"-tls-cert", "[$ROUTEGUIDE_TLS_CERT]",
		"-tls-key", "[$ROUTEGUIDE_TLS_KEY]",
		"-shutdown-timeout", "[$ROUTEGUIDE_SHUTDOWN_TIMEOUT]", "(default 10s)",
		"-log-format", "[$ROUTEGUIDE_LOG_FORMAT]",
		"-log-level", "[$ROUTEGUIDE_LOG_LEVEL]", "(default INFO)",
		"-admin-addr", "[$ROUTEGUIDE_ADMIN_ADDR]",
		"-admin-allow-remote", "[$ROUTEGUIDE_ADMIN_ALLOW_REMOTE]",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not mention %q:\n%s", want, help)
		}
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for flag, want := range map[string]string{
		"addr":               "ROUTEGUIDE_ADDR",
		"tls-cert":           "ROUTEGUIDE_TLS_CERT",
		"admin-allow-remote": "ROUTEGUIDE_ADMIN_ALLOW_REMOTE",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}
