// Package web holds the browser page of RouteGuide, built from the
// TypeScript sources beside it into dist/ and embedded, so that the server
// serves it with no Node at run time. Rebuild it with `npm ci && npm run
// build` in this directory.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files returns the built page: index.html, the script and style sheet it
// loads and its icon, all at the root. Every name is a plain file.
func Files() fs.FS {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // unreachable: "dist" is a valid path
	}
	return files
}
