package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// redacted stands in for a credential wherever the server shows its
// configuration.
const redacted = "xxxxx"

// redactURL hides the credentials in NATS URLs, comma-separated: the
// password of a user, and a token, which NATS takes as a user without a
// password.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		} else {
			u.User = url.User(redacted)
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// isSecretFlag reports whether a flag of that name carries a credential
// itself, rather than the name of a file that holds one.
func isSecretFlag(name string) bool {
	if strings.HasSuffix(name, "-file") {
		return false
	}
	for _, word := range []string{"password", "token", "secret", "seed"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// redactArgs returns a copy of a command line with every credential
// hidden: the value of a flag named for one, and the user information of
// every URL, such as a NATS password in --notes.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	secretNext := false
	for i, arg := range args {
		if secretNext {
			out[i], secretNext = redacted, false
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch {
		case !strings.HasPrefix(arg, "-") || arg == "--":
			out[i] = redactURL(arg)
		case isSecretFlag(name) && hasValue:
			out[i] = arg[:len(arg)-len(value)] + redacted
		case isSecretFlag(name):
			out[i], secretNext = arg, true
		case hasValue:
			out[i] = arg[:len(arg)-len(value)] + redactURL(value)
		default:
			out[i] = arg
		}
	}
	return out
}

// cmdlineHandler serves the command line at /debug/pprof/cmdline as
// net/http/pprof does, NUL-separated, but with its credentials hidden:
// the admin listener may be reachable by more people than the secrets.
func cmdlineHandler(cmdline []string) http.Handler {
	body := []byte(strings.Join(redactArgs(cmdline), "\x00"))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(body)
	})
}

// readSecretFile returns the secret a file holds, without the line break
// an editor leaves at its end.
func readSecretFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	secret := string(bytes.TrimRight(data, "\r\n"))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return secret, nil
}
