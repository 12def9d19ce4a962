package graphiql_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/rustok/rustok/transport/graphql/graphiql"
)

// pageAssets returns the asset paths that the page links to, by the name of
// their embedded file (the path without the content hash).
func pageAssets(t *testing.T, p *graphiql.Page) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServePage(rec, httptest.NewRequest(http.MethodGet, "/api/graphql", nil), nil)
	doc := parsePage(t, rec.Result())
	hashed := regexp.MustCompile(`^(.+)\.[0-9a-f]{12}(\.(?:js|css))$`)
	out := make(map[string]string)
	for n := range doc.Descendants() {
		ref := attr(n, "src") + attr(n, "href")
		if n.Type != html.ElementNode || !strings.HasPrefix(ref, testConfig.AssetsPath+"/") {
			continue
		}
		m := hashed.FindStringSubmatch(strings.TrimPrefix(ref, testConfig.AssetsPath+"/"))
		if m == nil {
			t.Fatalf("asset %q has no content hash in its name", ref)
		}
		out[m[1]+m[2]] = ref
	}
	if len(out) != 6 {
		t.Fatalf("page assets %q, want 6", out)
	}
	return out
}

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAssetsServeTheEmbeddedFiles(t *testing.T) {
	p := mustNew(t)
	h := p.AssetsHandler()
	for name, path := range pageAssets(t, p) {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile("assets/" + name)
			if err != nil {
				t.Fatal(err)
			}
			resp := get(t, h, http.MethodGet, path, nil)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("GET %s: %d, %d bytes, want 200 and the %d bytes of assets/%s", path, resp.StatusCode, len(body), len(want), name)
			}
			wantType := map[bool]string{true: "text/javascript; charset=utf-8", false: "text/css; charset=utf-8"}[strings.HasSuffix(name, ".js")]
			for k, v := range map[string]string{
				"Content-Type":           wantType,
				"Cache-Control":          "public, max-age=31536000, immutable",
				"X-Content-Type-Options": "nosniff",
				"Vary":                   "Accept-Encoding",
				"Content-Encoding":       "",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(resp.Header.Get("ETag")) {
				t.Errorf("ETag %q, want a strong ETag of the content", resp.Header.Get("ETag"))
			}
		})
	}
}

func TestAssetsGzip(t *testing.T) {
	p := mustNew(t)
	h := p.AssetsHandler()
	assets := pageAssets(t, p)
	path := assets["graphiql.min.js"]
	identity := get(t, h, http.MethodGet, path, nil)
	plain := readBody(t, identity)

	tests := []struct {
		name           string
		acceptEncoding string
		wantGzip       bool
	}{
		{name: "gzip is sent when accepted", acceptEncoding: "gzip, deflate, br, zstd", wantGzip: true},
		{name: "x-gzip counts as gzip", acceptEncoding: "x-gzip", wantGzip: true},
		{name: "a q-value above zero accepts", acceptEncoding: "br;q=1.0, gzip;q=0.5", wantGzip: true},
		{name: "any coding accepts gzip", acceptEncoding: "*", wantGzip: true},
		{name: "q=0 refuses gzip", acceptEncoding: "gzip;q=0, br", wantGzip: false},
		{name: "q=0 on gzip wins over any coding", acceptEncoding: "gzip;q=0, *", wantGzip: false},
		{name: "no Accept-Encoding is identity", acceptEncoding: "", wantGzip: false},
		{name: "other codings only is identity", acceptEncoding: "br, zstd", wantGzip: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, path, map[string]string{"Accept-Encoding": tc.acceptEncoding})
			body := readBody(t, resp)
			gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.wantGzip {
				t.Fatalf("Content-Encoding %q, want gzip %v", resp.Header.Get("Content-Encoding"), tc.wantGzip)
			}
			if !gotGzip {
				if !bytes.Equal(body, plain) {
					t.Error("identity body differs from the file")
				}
				return
			}
			if resp.Header.Get("ETag") == identity.Header.Get("ETag") {
				t.Errorf("gzip and identity share the ETag %s", resp.Header.Get("ETag"))
			}
			if len(body) >= len(plain) {
				t.Errorf("gzip body %d bytes, not smaller than %d", len(body), len(plain))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(unzipped, plain) {
				t.Errorf("gunzipped body differs from the file (err %v)", err)
			}
		})
	}
}

// TestAssetsGzipConcurrently compresses on first use from many requests
// at once; run with -race.
func TestAssetsGzipConcurrently(t *testing.T) {
	p := mustNew(t)
	h := p.AssetsHandler()
	path := pageAssets(t, p)["graphiql.min.css"]
	var wg sync.WaitGroup
	lengths := make([]int, 8)
	for i := range lengths {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("Accept-Encoding", "gzip")
			h.ServeHTTP(rec, r)
			lengths[i] = rec.Body.Len()
		})
	}
	wg.Wait()
	for i, n := range lengths {
		if n == 0 || n != lengths[0] {
			t.Errorf("response %d: %d bytes, response 0: %d", i, n, lengths[0])
		}
	}
}

func TestAssetsConditionalAndHead(t *testing.T) {
	p := mustNew(t)
	h := p.AssetsHandler()
	path := pageAssets(t, p)["start.js"]
	first := get(t, h, http.MethodGet, path, nil)
	size := len(readBody(t, first))
	etag := first.Header.Get("ETag")
	gz := get(t, h, http.MethodGet, path, map[string]string{"Accept-Encoding": "gzip"})
	readBody(t, gz)

	tests := []struct {
		name       string
		method     string
		header     map[string]string
		wantStatus int
		wantBody   bool
	}{
		{name: "a matching If-None-Match is 304", method: http.MethodGet, header: map[string]string{"If-None-Match": etag}, wantStatus: http.StatusNotModified},
		{name: "a matching gzip If-None-Match is 304", method: http.MethodGet, header: map[string]string{"If-None-Match": gz.Header.Get("ETag"), "Accept-Encoding": "gzip"}, wantStatus: http.StatusNotModified},
		{name: "one of a list of ETags is 304", method: http.MethodGet, header: map[string]string{"If-None-Match": `"other", ` + etag}, wantStatus: http.StatusNotModified},
		{name: "another ETag is 200", method: http.MethodGet, header: map[string]string{"If-None-Match": `"other"`}, wantStatus: http.StatusOK, wantBody: true},
		{name: "HEAD has the headers and no body", method: http.MethodHead, wantStatus: http.StatusOK},
		{name: "HEAD answers If-None-Match too", method: http.MethodHead, header: map[string]string{"If-None-Match": etag}, wantStatus: http.StatusNotModified},
		{name: "POST is not allowed", method: http.MethodPost, wantStatus: http.StatusMethodNotAllowed, wantBody: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, path, tc.header)
			body := readBody(t, resp)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if (len(body) > 0) != tc.wantBody {
				t.Errorf("body of %d bytes, want a body: %v", len(body), tc.wantBody)
			}
			switch resp.StatusCode {
			case http.StatusNotModified:
				if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") == "" {
					t.Errorf("304 without ETag or Cache-Control: %v", resp.Header)
				}
			case http.StatusMethodNotAllowed:
				if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow %q, want GET, HEAD", got)
				}
			}
			if tc.method == http.MethodHead && resp.StatusCode == http.StatusOK {
				if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(size) {
					t.Errorf("HEAD Content-Length %q, want %d", got, size)
				}
			}
		})
	}
}

func TestAssetsRefuseOtherPaths(t *testing.T) {
	p := mustNew(t)
	h := p.AssetsHandler()
	start := pageAssets(t, p)["start.js"]
	file := strings.TrimPrefix(start, testConfig.AssetsPath+"/")

	tests := []struct {
		name string
		path string
	}{
		{name: "an unknown file", path: testConfig.AssetsPath + "/nope.js"},
		{name: "a file without its hash", path: testConfig.AssetsPath + "/start.js"},
		{name: "a file with another hash", path: testConfig.AssetsPath + "/start.000000000000.js"},
		{name: "the directory", path: testConfig.AssetsPath + "/"},
		{name: "the prefix without a slash", path: testConfig.AssetsPath},
		{name: "a look-alike prefix", path: testConfig.AssetsPath + "x/" + file},
		{name: "a vendored file that is no asset", path: testConfig.AssetsPath + "/LICENSE.graphiql"},
		{name: "a parent directory", path: testConfig.AssetsPath + "/../graphiql.go"},
		{name: "an encoded parent directory", path: testConfig.AssetsPath + "/..%2fgraphiql.go"},
		{name: "a dot segment before a real file", path: testConfig.AssetsPath + "/x/../" + file},
		{name: "a subdirectory", path: testConfig.AssetsPath + "/assets/" + file},
		{name: "an absolute path", path: testConfig.AssetsPath + "//etc/passwd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, tc.path, nil)
			readBody(t, resp)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", tc.path, resp.StatusCode)
			}
		})
	}
}

// TestAssetsLoadNothingElse guards the vendoring: the stylesheets import
// nothing and load only data: URLs, and no file names a source map, which
// DevTools would fetch.
func TestAssetsLoadNothingElse(t *testing.T) {
	for _, name := range []string{"graphiql.min.css", "page.css", "graphiql.min.js", "react.production.min.js", "react-dom.production.min.js", "start.js"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile("assets/" + name)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("sourceMappingURL")) {
				t.Error("names a source map")
			}
			if !strings.HasSuffix(name, ".css") {
				return
			}
			if bytes.Contains(b, []byte("@import")) {
				t.Error("has an @import")
			}
			for _, m := range regexp.MustCompile(`url\(\s*['"]?([^'")]{0,40})`).FindAllSubmatch(b, -1) {
				if !bytes.HasPrefix(m[1], []byte("data:")) {
					t.Errorf("loads url(%s…)", m[1])
				}
			}
		})
	}
}
