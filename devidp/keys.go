package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// rsaBits is the size of the signing keys: the common RS256 size, which
// every JOSE library accepts.
const rsaBits = 2048

// keyRing holds the signing key and the retired keys whose tokens may still
// be valid, so the JWKS lists every key a current token was signed with.
type keyRing struct {
	every    time.Duration // rotate when the current key is older; zero never
	lifetime time.Duration // how long a retired key's tokens stay valid

	mu      sync.Mutex // protects current and retired
	current *signingKey
	retired []*signingKey
}

// signingKey is an RSA key pair with its ID and the times it was made and
// retired.
type signingKey struct {
	id      string
	private *rsa.PrivateKey
	made    time.Time
	retired time.Time // zero while current
}

func newKeyRing(every, lifetime time.Duration) (*keyRing, error) {
	k, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	return &keyRing{every: every, lifetime: lifetime, current: k}, nil
}

func newSigningKey() (*signingKey, error) {
	private, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("make signing key: %w", err)
	}
	return &signingKey{id: randomID(8), private: private, made: time.Now()}, nil
}

// signer returns the current key, rotating first when it is due.
func (r *keyRing) signer() (*signingKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.every > 0 && time.Since(r.current.made) >= r.every {
		if err := r.rotateLocked(); err != nil {
			return nil, err
		}
	}
	return r.current, nil
}

// rotate retires the current key and makes a new one.
func (r *keyRing) rotate() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rotateLocked()
}

func (r *keyRing) rotateLocked() error {
	k, err := newSigningKey()
	if err != nil {
		return err
	}
	now := time.Now()
	r.current.retired = now
	r.retired = append(r.retired, r.current)
	r.current = k
	// A retired key is dropped once every token it signed has expired.
	kept := r.retired[:0]
	for _, old := range r.retired {
		if now.Sub(old.retired) < r.lifetime {
			kept = append(kept, old)
		}
	}
	clear(r.retired[len(kept):])
	r.retired = kept
	return nil
}

// public returns the public keys to publish: the current one first.
func (r *keyRing) public() []op.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := []op.Key{publicKey{r.current}}
	for i := len(r.retired) - 1; i >= 0; i-- {
		keys = append(keys, publicKey{r.retired[i]})
	}
	return keys
}

// signingKey is an [op.SigningKey].
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the [op.Key] the JWKS publishes for a signing key.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.private.PublicKey }

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand panics rather than return an error
	return hex.EncodeToString(b)
}
