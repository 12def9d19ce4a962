package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// files holds the assets: GraphiQL, React and ReactDOM as vendored (see
// assets/README.md), and our start.js and page.css.
//
//go:embed assets/*.js assets/*.css
var files embed.FS

// immutable is the Cache-Control of an asset: its URL changes with its
// content, so a cached copy never goes stale.
const immutable = "public, max-age=31536000, immutable"

// asset is one embedded file, ready to serve.
type asset struct {
	contentType string
	body        []byte
	etag        string // strong ETag of body
	gzipETag    string // strong ETag of the gzip body

	gzipOnce sync.Once
	gzipBody []byte // nil when gzip does not make the body smaller
}

// gzipped returns the body compressed with gzip, compressing it on the
// first call, or nil when that does not make it smaller.
func (a *asset) gzipped() []byte {
	a.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return // only for an invalid level; serve the body as it is
		}
		if _, err := zw.Write(a.body); err != nil {
			return // a bytes.Buffer does not fail; serve the body as it is
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(a.body) {
			a.gzipBody = buf.Bytes()
		}
	})
	return a.gzipBody
}

// assetTable is the page's assets by the file name of their URL.
type assetTable struct {
	prefix string            // AssetsPath + "/"
	byFile map[string]*asset // hashed file name → asset
	files  map[string]string // embedded name → hashed file name
}

// loadAssets reads the embedded assets and names each after its content:
// "graphiql.min.js" is served as "graphiql.min.<hash>.js".
func loadAssets(assetsPath string) (assetTable, error) {
	entries, err := files.ReadDir("assets")
	if err != nil {
		return assetTable{}, fmt.Errorf("list embedded assets: %w", err)
	}
	t := assetTable{
		prefix: assetsPath + "/",
		byFile: make(map[string]*asset, len(entries)),
		files:  make(map[string]string, len(entries)),
	}
	for _, e := range entries {
		name := e.Name()
		body, err := files.ReadFile("assets/" + name)
		if err != nil {
			return assetTable{}, fmt.Errorf("read %s: %w", name, err)
		}
		ext := path.Ext(name)
		contentType, ok := map[string]string{
			".js":  "text/javascript; charset=utf-8",
			".css": "text/css; charset=utf-8",
		}[ext]
		if !ok {
			return assetTable{}, fmt.Errorf("%s: no content type for %q files", name, ext)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		file := strings.TrimSuffix(name, ext) + "." + hash[:12] + ext
		t.byFile[file] = &asset{
			contentType: contentType,
			body:        body,
			etag:        `"` + hash[:32] + `"`,
			gzipETag:    `"` + hash[:32] + `-gzip"`,
		}
		t.files[name] = file
	}
	return t, nil
}

// url returns the URL path of the embedded file name.
func (t assetTable) url(name string) (string, error) {
	file, ok := t.files[name]
	if !ok {
		return "", fmt.Errorf("no embedded asset %s", name)
	}
	return t.prefix + file, nil
}

func (t assetTable) serve(w http.ResponseWriter, r *http.Request) {
	// An exact match on the names of the table: nothing else, such as
	// "../graphiql.go" or "x/../start.js", reaches a file.
	file, ok := strings.CutPrefix(r.URL.Path, t.prefix)
	a := t.byFile[file]
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", immutable)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := a.gzipped(); gz != nil {
			// Another representation, so another strong ETag.
			body, etag = gz, a.gzipETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), Range and HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding values accept gzip with a
// q-value above zero, by name ("gzip" or "x-gzip") or else by "*".
func acceptsGzip(values []string) bool {
	named, star := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0 // a malformed q-value accepts nothing
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				named = max(named, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}
