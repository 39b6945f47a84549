package main

import (
	"fmt"
	"strings"

	"github.com/routeguide/routeguide/devidp"
)

// listFlag collects a flag given several times or with comma-separated
// values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// clientsFlag collects --client ID=URI[,URI...] flags.
type clientsFlag []devidp.Client

func (c *clientsFlag) String() string {
	var parts []string
	for _, cl := range *c {
		parts = append(parts, cl.ID+"="+strings.Join(cl.RedirectURIs, ","))
	}
	return strings.Join(parts, " ")
}

func (c *clientsFlag) Set(v string) error {
	id, uris, ok := strings.Cut(v, "=")
	if !ok || id == "" || uris == "" {
		return fmt.Errorf("want CLIENT_ID=REDIRECT_URI[,REDIRECT_URI...], got %q", v)
	}
	var list listFlag
	list.Set(uris)
	*c = append(*c, devidp.Client{ID: id, RedirectURIs: list})
	return nil
}
