package gql

import (
	"bytes"
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
	httpserver "github.com/rustok/rustok/transport/http"
)

// Routes of Mount, relative to the group it is mounted on (/api).
const (
	// RoutePath is the GraphQL endpoint.
	RoutePath = "/graphql"
	// SchemaPath answers the SDL; it needs no tenant.
	SchemaPath = "/graphql/schema.graphql"
	// AssetsPath prefixes the GraphiQL page's assets; they need no tenant.
	AssetsPath = "/graphql/assets/"
)

// allowedMethods is the Allow header of the endpoint.
const allowedMethods = "GET, HEAD, POST, OPTIONS"

// Mount mounts h on g (the /api group): the endpoint (GET, HEAD, POST and
// OPTIONS), the SDL at SchemaPath (text/plain when introspection is on,
// NOT_FOUND when it is off) and, with a playground, its assets under
// AssetsPath. Errors on the endpoint are answered in GraphQL's shape: see
// WriteError, which the server's error handler should use for RoutePath.
func Mount(g *echo.Group, h *Handler) {
	g.POST(RoutePath, h.ServeEcho)
	g.GET(RoutePath, h.ServeEcho)
	g.HEAD(RoutePath, h.ServeEcho)
	// CORS preflights never get here: the server's CORS middleware answers
	// them. Any other OPTIONS request learns the methods.
	g.OPTIONS(RoutePath, h.ServeEcho)
	g.GET(SchemaPath, h.serveSDL)
	g.HEAD(SchemaPath, h.serveSDL)
	if h.graphiql != nil {
		assets := echo.WrapHandler(h.graphiql.AssetsHandler())
		g.GET(AssetsPath+"*", assets)
		g.HEAD(AssetsPath+"*", assets)
	}
}

// ServeEcho answers a GraphQL request over HTTP:
//
//   - POST with a JSON body {query, operationName, variables, extensions}
//     (Content-Type application/json);
//   - GET (and HEAD) with the same members as query parameters, variables
//     and extensions JSON-encoded; mutations are refused (405);
//   - GET from a browser (Accept: text/html, no query) with a playground:
//     the GraphiQL page;
//   - OPTIONS (not a CORS preflight): 204 with the Allow header.
//
// GraphQL answers are 200 even when they carry errors (Apollo's convention);
// a request that is not a GraphQL request (malformed JSON, no query, a bad
// persisted query extension, a body over the limit, no tenant) gets the
// status that says why, with the same {errors: [...]} shape. Answers are
// compact JSON.
func (h *Handler) ServeEcho(c echo.Context) error {
	req := c.Request()
	var r Request
	allowMutation := false
	switch req.Method {
	case http.MethodOptions:
		c.Response().Header().Set(echo.HeaderAllow, allowedMethods)
		return c.NoContent(http.StatusNoContent)
	case http.MethodGet, http.MethodHead:
		q := c.QueryParams()
		if h.graphiql != nil && q.Get("query") == "" && q.Get("extensions") == "" && acceptsHTML(req) {
			var headers map[string]string
			if h.playgroundHeaders != nil {
				headers = h.playgroundHeaders(req.Context())
			}
			h.graphiql.ServePage(c.Response(), req, headers)
			return nil
		}
		r.Query = q.Get("query")
		r.OperationName = q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := decodeJSON([]byte(v), &r.Variables); err != nil {
				return h.writeRefusal(c, http.StatusBadRequest, "the variables parameter must be a JSON object")
			}
		}
		if v := q.Get("extensions"); v != "" {
			if err := decodeJSON([]byte(v), &r.Extensions); err != nil {
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
				return h.writeRefusal(c, http.StatusRequestEntityTooLarge,
					fmt.Sprintf("the request body is larger than the limit of %d bytes", mbe.Limit))
			}
			return h.writeRefusal(c, http.StatusBadRequest, "the request body could not be read")
		}
		if err := decodeJSON(body, &r); err != nil {
			return h.writeRefusal(c, http.StatusBadRequest, "the request body must be a JSON object {query, operationName, variables, extensions}")
		}
	default:
		c.Response().Header().Set(echo.HeaderAllow, allowedMethods)
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

// decodeJSON decodes one JSON value into v, keeping numbers as json.Number
// so that variables are coerced from their exact text (see coerceVariables).
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// errorsOnly is the answer of a request that was not executed.
type errorsOnly struct {
	Errors []gqlerrors.FormattedError `json:"errors"`
}

func (h *Handler) writeRefusal(c echo.Context, status int, message string) error {
	out := h.refuse(status, domain.CodeBadInput, message)
	return c.JSON(status, errorsOnly{Errors: out.result.Errors})
}

// WriteError answers a failed request to the endpoint in GraphQL's shape,
// {errors: [{message, extensions: {code}}]}, with the status of the problem
// p (httpserver.ProblemOf): the server's error handler uses it for
// RoutePath, so that a body over the limit (413), a missing tenant (400) or
// a failure in middleware reaches GraphQL clients as a GraphQL error rather
// than problem+json.
func WriteError(c echo.Context, p httpserver.Problem) error {
	fe := withCode(p.Detail, p.Code)
	if p.Field != "" {
		fe.Extensions["field"] = p.Field
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(p.Status)
	}
	return c.JSON(p.Status, errorsOnly{Errors: []gqlerrors.FormattedError{fe}})
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
