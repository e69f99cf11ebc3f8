package ui

import (
	_ "embed"
	"net/http"
)

//go:embed index.html
var page []byte

// StatusPath is where the page fetches its data; the node must serve its
// status JSON there.
const StatusPath = "/api/status"

// Handler serves the page. Its content security policy allows only the
// page's own inline script and style and requests to this origin.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(page)
	})
}
