package main

import (
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strings"
)

// newAdminHandler serves the endpoints for operators, which the RPC
// listener never serves: metrics for Prometheus at /metrics and the runtime
// profiles of net/http/pprof under /debug/pprof/. The pprof handlers are
// registered here by hand: the package's own registration is on
// http.DefaultServeMux, which nothing serves. /debug/pprof/cmdline shows
// cmdline, the program and its arguments, with every credential hidden.
func newAdminHandler(metrics http.Handler, cmdline []string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.Handle("/debug/pprof/cmdline", cmdlineHandler(cmdline))
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// redacted stands in for a credential wherever the server shows its
// configuration.
const redacted = "xxxxx"

// redactURL hides the credentials in NATS URLs, comma-separated: the
// password of a user, and a token, which NATS takes as a user without a
// password.
func redactURL(s string) string {
	return replaceUsers(s, func(u *url.Userinfo) *url.Userinfo {
		if _, ok := u.Password(); ok {
			return url.UserPassword(u.Username(), redacted)
		}
		return url.User(redacted)
	})
}

// replaceUsers returns the comma-separated URLs of s with the user
// information of each that has some replaced by what user makes of it. A
// part that is no URL is left as it is.
func replaceUsers(s string, user func(*url.Userinfo) *url.Userinfo) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = user(u.User)
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// isSecretFlag reports whether a flag of that name carries a credential
// itself, rather than the name of a file that holds one.
func isSecretFlag(name string) bool {
	if strings.HasSuffix(name, "-file") {
		return false
	}
	return slices.ContainsFunc([]string{"password", "token", "secret", "seed"}, func(word string) bool {
		return strings.Contains(name, word)
	})
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
