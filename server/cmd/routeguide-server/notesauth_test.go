package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/internal/natstest"
)

// TestRunWithNotesOnNATSOverTLS: with the authority that signed a tls://
// NATS server's certificate in --nats-ca, the server starts and its notes
// are in the stream on that NATS.
func TestRunWithNotesOnNATSOverTLS(t *testing.T) {
	t.Parallel()
	node, caFile := natstest.StartTLS(t)
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--log-format=json", "--notes=" + node.URL(), "--nats-ca=" + caFile}, nil)
	chatOnce(t, s, "over TLS")
	if got := storedNotes(t, node.URL(), nats.RootCAs(caFile)); got != 1 {
		t.Errorf("stream holds %d notes, want 1", got)
	}
}

// TestRunRefusesNATSWithUntrustedCertificate: a tls:// NATS whose
// certificate no system authority signed is refused, and the error says
// that the certificate is why and which setting takes its authority.
func TestRunRefusesNATSWithUntrustedCertificate(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartTLS(t)
	// Refused at the first handshake, not at the open timeout, which is
	// long so that a loaded machine still makes one.
	err := runRefused(t, "--notes="+node.URL(), "--notes-open-timeout=8s")
	wantError(t, err, []string{"--notes", "certificate signed by unknown authority", "set --nats-ca"}, "is NATS running")
}

// TestRunRefusesNATSSignedByAnotherCA: --nats-ca that holds an authority,
// but not the one that signed NATS's certificate, is named in the error.
func TestRunRefusesNATSSignedByAnotherCA(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartTLS(t)
	_, otherCA := natstest.StartTLS(t)
	err := runRefused(t, "--notes="+node.URL(), "--nats-ca="+otherCA, "--notes-open-timeout=8s")
	wantError(t, err, []string{"certificate signed by unknown authority", "not signed by an authority in --nats-ca " + otherCA},
		"is NATS running")
}

// TestRunRefusesNATSCAThatIsNotPEM: a --nats-ca that holds no certificate
// is refused before any connection, naming the setting and the file.
func TestRunRefusesNATSCAThatIsNotPEM(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartTLS(t)
	notPEM := writeFile(t, "ca.pem", "not a certificate\n")
	err := runRefused(t, "--notes="+node.URL(), "--nats-ca="+notPEM, "--notes-open-timeout=2s")
	wantError(t, err, []string{"--nats-ca", notPEM, "no PEM certificate"}, "")
}

// TestRunWithNotesOnNATSWithCreds: with a user's credentials in
// --nats-creds, the server starts on an operator-mode NATS and its notes
// are in the stream of that user's account.
func TestRunWithNotesOnNATSWithCreds(t *testing.T) {
	t.Parallel()
	node, creds := natstest.StartOperator(t)
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--log-format=json", "--notes=" + node.URL(), "--nats-creds=" + creds}, nil)
	chatOnce(t, s, "with creds")
	if got := storedNotes(t, node.URL(), nats.UserCredentials(creds)); got != 1 {
		t.Errorf("stream holds %d notes, want 1", got)
	}
}

// TestRunRefusesNATSWithoutCreds: an operator-mode NATS refuses a server
// without credentials; the server gives up as soon as the NATS client
// does, long before the open timeout, and says which setting is missing.
func TestRunRefusesNATSWithoutCreds(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartOperator(t)
	// runRefused fails a run that takes more than 10s: this open timeout
	// is there to be not waited for.
	err := runRefused(t, "--notes="+node.URL(), "--notes-open-timeout=15s")
	wantError(t, err, []string{"--notes", "Authorization Violation", "set --nats-creds"}, "is NATS running")
}

// TestRunRefusesNATSWithOthersCreds: credentials of a user that NATS does
// not know are refused, naming the file.
func TestRunRefusesNATSWithOthersCreds(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartOperator(t)
	_, otherCreds := natstest.StartOperator(t)
	err := runRefused(t, "--notes="+node.URL(), "--nats-creds="+otherCreds, "--notes-open-timeout=15s")
	wantError(t, err, []string{"Authorization Violation", "refused the user of --nats-creds " + otherCreds}, "")
}

// TestRunRefusesCredsThatAreNot: a --nats-creds that is not a credentials
// file is refused before any connection, naming the setting and the file.
func TestRunRefusesCredsThatAreNot(t *testing.T) {
	t.Parallel()
	node, _ := natstest.StartOperator(t)
	notCreds := writeFile(t, "user.creds", "not credentials\n")
	err := runRefused(t, "--notes="+node.URL(), "--nats-creds="+notCreds, "--notes-open-timeout=2s")
	wantError(t, err, []string{"--nats-creds", notCreds, "not a NATS credentials file"}, "")
}

// chatOnce sends one note to s and checks that the reply is that note
// alone.
func chatOnce(t *testing.T, s *runningServer, msg string) {
	t.Helper()
	got := chatReplies(t, s, &routeguide.Point{Latitude: 3, Longitude: 4}, msg)
	if want := []string{msg}; !slices.Equal(got, want) {
		t.Errorf("chat: replies %q, want %q", got, want)
	}
}

// chatReplies sends one note to s at a chat of its own and returns the
// messages of the replies.
func chatReplies(t *testing.T, s *runningServer, at *routeguide.Point, msg string) []string {
	t.Helper()
	chat := newRPCClient(t, s.addr).RouteChat(t.Context())
	if err := chat.Send(&routeguide.RouteNote{Location: at, Message: msg}); err != nil {
		t.Fatal(err)
	}
	chat.CloseSend()
	var got []string
	for reply, err := range chat.Replies() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, reply.GetMessage())
	}
	return got
}

// storedNotes asks NATS at url, as a client of its own, how many notes the
// server's stream holds.
func storedNotes(t *testing.T, url string, options ...nats.Option) uint64 {
	t.Helper()
	nc, err := nats.Connect(url, options...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(t.Context(), "ROUTEGUIDE_NOTES")
	if err != nil {
		t.Fatal(err)
	}
	return stream.CachedInfo().State.Msgs
}

// runRefused runs the server with args, which must keep it from starting
// within 10s, and returns its error.
func runRefused(t *testing.T, args ...string) error {
	t.Helper()
	var stderr strings.Builder
	start := time.Now()
	err := run(t.Context(), append([]string{"--addr=127.0.0.1:0"}, args...), func(string) string { return "" }, &stderr)
	if err == nil {
		t.Fatal("run started")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("run took %v to give up", took)
	}
	t.Logf("run: %v", err)
	return err
}

// wantError checks that err says each of want and, unless notWant is
// empty, does not say notWant.
func wantError(t *testing.T, err error, want []string, notWant string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if notWant != "" && strings.Contains(err.Error(), notWant) {
		t.Errorf("error %q says %q", err, notWant)
	}
}

func writeFile(t *testing.T, name, contents string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
