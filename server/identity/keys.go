package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxKeySetBytes bounds the JWKS document the server reads: real ones hold a
// few keys in a few KiB.
const maxKeySetBytes = 1 << 20

// errFetchedRecently refuses a JWKS fetch that comes sooner than the minimum
// interval after the last one.
var errFetchedRecently = errors.New("keys fetched too recently to fetch again")

// keyFetcher is the transport of go-oidc's RemoteKeySet. The key set
// verifies with its cached keys and, when none verifies, fetches the JWKS
// again, for every such token: a flood of tokens naming random keys, or
// altered ones, would be a flood of fetches. keyFetcher lets one fetch
// through per minInterval and fails the others at once, so the key set
// keeps its cached keys; it also remembers the key IDs it last saw, so that
// a refusal can say whether the key was unknown or the signature bad.
type keyFetcher struct {
	base        http.RoundTripper
	minInterval time.Duration
	now         func() time.Time

	mu      sync.Mutex
	last    time.Time       // protected by mu; when the last fetch let through started
	kids    map[string]bool // protected by mu; the key IDs of the last JWKS read
	failing bool            // protected by mu; whether the last fetch let through failed
}

func (f *keyFetcher) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	now := f.now()
	if !f.last.IsZero() && now.Sub(f.last) < f.minInterval {
		f.mu.Unlock()
		return nil, errFetchedRecently
	}
	f.last = now
	f.mu.Unlock()

	kids, resp, err := f.fetch(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = err != nil
	if err == nil {
		f.kids = kids
	}
	return resp, err
}

// fetch makes the request and reads the key IDs of the JWKS it answers
// with, handing the body on to the key set.
func (f *keyFetcher) fetch(req *http.Request) (map[string]bool, *http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read keys: %w", err)
	}
	if len(body) > maxKeySetBytes {
		return nil, nil, fmt.Errorf("keys: JWKS longer than %d bytes", maxKeySetBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("keys: %s", resp.Status)
	}
	var set struct {
		Keys []struct {
			KeyID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, nil, fmt.Errorf("keys: decode JWKS: %w", err)
	}
	kids := make(map[string]bool, len(set.Keys))
	for _, k := range set.Keys {
		kids[k.KeyID] = true
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return kids, resp, nil
}

// classify says why a token whose signature did not verify was refused: the
// key it names (or, naming none, any key) was in the last JWKS read, or the
// keys cannot be had, or the key is unknown.
func (f *keyFetcher) classify(kid string) Reason {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.kids[kid] || (kid == "" && len(f.kids) > 0):
		return ReasonBadSignature
	case f.failing || f.kids == nil:
		return ReasonKeysUnavailable
	default:
		return ReasonUnknownKey
	}
}
