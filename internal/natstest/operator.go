package natstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// StartOperator runs one NATS server with JetStream, as [Start] does, in
// operator mode: it trusts an operator made for this test, knows two of
// its accounts (the system account, and one with JetStream whose storage
// is not limited beyond the node's) and lets in only users those accounts
// signed. It returns the node and the path of a credentials file, a user
// JWT and its NKey seed as nsc writes them, of a user of the JetStream
// account: a client without it is refused as unauthorized.
func StartOperator(t testing.TB, options ...Options) (n *Node, credsFile string) {
	t.Helper()
	operatorKey := newKeys(t, nkeys.CreateOperator)
	systemKey := newKeys(t, nkeys.CreateAccount)
	accountKey := newKeys(t, nkeys.CreateAccount)
	userKey := newKeys(t, nkeys.CreateUser)

	operator := jwt.NewOperatorClaims(publicKey(t, operatorKey))
	operator.Name = "natstest"
	operator.SystemAccount = publicKey(t, systemKey)
	// Encoding signs the claims and fills in what the server checks.
	if _, err := operator.Encode(operatorKey); err != nil {
		t.Fatal(err)
	}

	resolver := &server.MemAccResolver{}
	system := jwt.NewAccountClaims(publicKey(t, systemKey))
	system.Name = "SYS"
	storeAccount(t, resolver, system, operatorKey)
	account := jwt.NewAccountClaims(publicKey(t, accountKey))
	account.Name = "ROUTEGUIDE"
	// JetStream is off for an account unless its JWT gives it storage; -1
	// is no limit of the account's own.
	account.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1}
	storeAccount(t, resolver, account, operatorKey)

	user := jwt.NewUserClaims(publicKey(t, userKey))
	user.Name = "routeguide"
	userJWT, err := user.Encode(accountKey)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := userKey.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile = filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}

	withOperator := func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{operator}
		o.SystemAccount = operator.SystemAccount
		o.AccountResolver = resolver
	}
	return Start(t, append([]Options{withOperator}, options...)...), credsFile
}

func newKeys(t testing.TB, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func publicKey(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// storeAccount signs an account's JWT by the operator and gives it to the
// resolver, where the server looks accounts up.
func storeAccount(t testing.TB, resolver *server.MemAccResolver, account *jwt.AccountClaims, operatorKey nkeys.KeyPair) {
	t.Helper()
	token, err := account.Encode(operatorKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolver.Store(account.Subject, token); err != nil {
		t.Fatal(err)
	}
}
