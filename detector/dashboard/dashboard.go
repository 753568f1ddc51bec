package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// contentSecurityPolicy lets the page load only from the server itself: no
// CDN, no inline script.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the dashboard: the page at "/" and its assets under
// "/assets/". Every other path is 404, so that the API's paths stay the
// API's.
type Handler struct {
	files fs.FS
	etags map[string]string // file name -> strong ETag of its content
}

var _ http.Handler = (*Handler)(nil)

// New returns the dashboard's handler.
func New() *Handler {
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	h := &Handler{files: files, etags: map[string]string{}}
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.etags[name] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return h
}

// ServeHTTP answers GET and HEAD of the page and its assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := h.fileFor(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that cheap
	hdr.Set("ETag", h.etags[name])
	http.ServeFileFS(w, r, h.files, name)
}

// fileFor maps a URL path to an embedded file: "/" to the page, and
// "/assets/x" to x.
func (h *Handler) fileFor(urlPath string) (string, bool) {
	if urlPath == "/" || urlPath == "/index.html" {
		return "index.html", true
	}
	rest, ok := strings.CutPrefix(urlPath, "/assets/")
	if !ok {
		return "", false
	}
	name := path.Clean(rest)
	if _, known := h.etags[name]; !known || name == "index.html" {
		return "", false
	}
	return name, true
}
