package gql

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
)

// Mount mounts h on g (the /api group): POST and GET /graphql, and GET
// /graphql/schema.graphql, which answers the SDL as text/plain when
// introspection is on and NOT_FOUND (returned as a domain error, for the
// server's error handler) when it is off.
func Mount(g *echo.Group, h *Handler) {
	g.POST("/graphql", h.ServeEcho)
	g.GET("/graphql", h.ServeEcho)
	g.GET("/graphql/schema.graphql", h.serveSDL)
}

// ServeEcho answers a GraphQL request over HTTP:
//
//   - POST with a JSON body {query, operationName, variables, extensions}
//     (Content-Type application/json);
//   - GET with the same members as query parameters, variables and
//     extensions JSON-encoded; mutations are refused (405);
//   - GET from a browser (Accept: text/html, no query) with Playground on:
//     the GraphiQL page.
//
// GraphQL answers are 200 even when they carry errors (Apollo's convention);
// a request that is not a GraphQL request (malformed JSON, no query, a bad
// persisted query extension) is 400 with the same {errors: [...]} shape.
// A body over the server's limit is returned as the read error, for the
// server's error handler to answer 413.
func (h *Handler) ServeEcho(c echo.Context) error {
	req := c.Request()
	var r Request
	allowMutation := false
	switch req.Method {
	case http.MethodGet:
		q := c.QueryParams()
		if h.playground && q.Get("query") == "" && q.Get("extensions") == "" && acceptsHTML(req) {
			return h.serveGraphiQL(c)
		}
		r.Query = q.Get("query")
		r.OperationName = q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &r.Variables); err != nil {
				return h.writeRefusal(c, http.StatusBadRequest, "the variables parameter must be a JSON object")
			}
		}
		if v := q.Get("extensions"); v != "" {
			if err := json.Unmarshal([]byte(v), &r.Extensions); err != nil {
				return h.writeRefusal(c, http.StatusBadRequest, "the extensions parameter must be a JSON object")
			}
		}
	case http.MethodPost:
		allowMutation = true
		// Only JSON: a browser cannot send it cross-site without a CORS
		// preflight, which keeps simple-request CSRF out.
		if mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
			return h.writeRefusal(c, http.StatusUnsupportedMediaType, "the request body must be JSON (Content-Type: application/json)")
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fmt.Errorf("read graphql request: %w", err)
			}
			return h.writeRefusal(c, http.StatusBadRequest, "the request body could not be read")
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return h.writeRefusal(c, http.StatusBadRequest, "the request body must be a JSON object {query, operationName, variables, extensions}")
		}
	default:
		c.Response().Header().Set(echo.HeaderAllow, "GET, POST")
		return h.writeRefusal(c, http.StatusMethodNotAllowed, "use GET or POST")
	}

	out := h.run(req.Context(), r, allowMutation)
	if out.status == http.StatusMethodNotAllowed {
		c.Response().Header().Set(echo.HeaderAllow, http.MethodPost)
	}
	if !out.executed {
		// An error before execution began: the answer has no data entry.
		return c.JSON(out.status, errorsOnly{Errors: out.result.Errors})
	}
	return c.JSON(out.status, out.result)
}

// errorsOnly is the answer of a request that was not executed.
type errorsOnly struct {
	Errors []gqlerrors.FormattedError `json:"errors"`
}

func (h *Handler) writeRefusal(c echo.Context, status int, message string) error {
	out := h.refuse(status, domain.CodeBadInput, message)
	return c.JSON(status, errorsOnly{Errors: out.result.Errors})
}

// serveSDL answers the schema in SDL; when introspection is off the schema
// is not published and the answer is NOT_FOUND.
func (h *Handler) serveSDL(c echo.Context) error {
	if !h.introspection {
		return domain.NotFound("the schema is not published: introspection is disabled")
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(h.sdl))
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMETextHTML)
}

// graphiqlScript starts GraphiQL against the page's own URL. The page's CSP
// allows exactly this inline script by its hash.
const graphiqlScript = `
const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }),
);
`

// graphiqlCDN serves GraphiQL 3 and React 18 as UMD bundles.
const graphiqlCDN = "https://unpkg.com"

const graphiqlHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>RusToK GraphiQL</title>
<link rel="stylesheet" href="` + graphiqlCDN + `/graphiql@3/graphiql.min.css">
</head>
<body style="margin:0">
<div id="graphiql" style="height:100vh"></div>
<script crossorigin src="` + graphiqlCDN + `/react@18/umd/react.production.min.js"></script>
<script crossorigin src="` + graphiqlCDN + `/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="` + graphiqlCDN + `/graphiql@3/graphiql.min.js"></script>
<script>` + graphiqlScript + `</script>
</body>
</html>
`

// graphiqlPage is the GraphiQL page and the CSP that lets it run: scripts
// and styles from the CDN, the inline start script by hash, requests to this
// origin only.
type graphiqlPage struct {
	html string
	csp  string
}

func newGraphiQLPage() graphiqlPage {
	sum := sha256.Sum256([]byte(graphiqlScript))
	return graphiqlPage{
		html: graphiqlHTML,
		csp: "default-src 'none'; " +
			"script-src " + graphiqlCDN + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"style-src " + graphiqlCDN + " 'unsafe-inline'; " +
			"font-src " + graphiqlCDN + " data:; " +
			"img-src " + graphiqlCDN + " data:; " +
			"connect-src 'self'; " +
			"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
}

func (h *Handler) serveGraphiQL(c echo.Context) error {
	// Replaces the server's strict API policy for this page only.
	c.Response().Header().Set("Content-Security-Policy", h.graphiql.csp)
	return c.HTML(http.StatusOK, h.graphiql.html)
}
