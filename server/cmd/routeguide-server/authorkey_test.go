package main

import (
	"io"
	"strings"
	"testing"
)

// --author-id-key-file gives the verifier its key, and refuses a key that
// is missing, short, or of no use without an issuer.
func TestAuthorIDKeyFile(t *testing.T) {
	t.Parallel()
	const key = "0123456789abcdef0123456789abcdef"
	good := writeFile(t, "key", key+"\n")
	issuer := []string{"--auth-issuer", "https://idp.example", "--auth-audience", "routeguide"}
	cfg, err := parseConfig(append(issuer, "--author-id-key-file", good), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cfg.writes.identity.AuthorIDKey); got != key {
		t.Errorf("author ID key %q, want %q (the file without its line break)", got, key)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"short":     {append(issuer, "--author-id-key-file", writeFile(t, "short", "0123456789\n")), "holds 10 bytes, want at least 16"},
		"empty":     {append(issuer, "--author-id-key-file", writeFile(t, "empty", "\n")), "is empty"},
		"missing":   {append(issuer, "--author-id-key-file", good+".gone"), "no such file"},
		"no issuer": {[]string{"--author-id-key-file", good}, "needs --auth-issuer"},
	} {
		_, err := parseConfig(c.args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--author-id-key-file") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming --author-id-key-file that says %q", name, err, c.want)
		}
	}
}
