// Package gql serves RusToK's GraphQL API on graphql-go: one schema built once
// from the fields that modules contribute, and a request pipeline that bounds
// every document (size, depth, complexity, aliases), caches parsed and
// validated documents, speaks Apollo's automatic persisted queries, and maps
// every error to an extensions.code.
//
// The pipeline for one request:
//
//	size check → document cache (sha256 of the query) → on a miss: parse,
//	validate the limits, validate the GraphQL rules, cache if valid → execute
//
// Limits (and fragment cycles) are checked in their own validation pass
// before the specification's rules: some of those rules (overlapping fields)
// cost O(n²) on the document, and one of them overflows the stack on a
// self-spreading fragment (see limitRules).
//
// # Limits
//
// Depth counts nested fields through fragments: `{ health }` has depth 1,
// `{ node { child { name } } }` depth 3; inline fragments and spreads add
// nothing.
//
// Complexity is a static estimate of the work: each field costs 1 plus, when
// it has a selection, factor × the cost of that selection. A list field's
// factor is its `first` argument (a variable counts as 100, the largest page,
// because documents are validated once, before variable values are known), or
// else the `first` of the connection field just above it, so that
// `users(first: 50) { edges { node { id } } }` costs 1 + 1 + 50 × 2 = 102; or
// else 10. Other fields have factor 1.
//
// Aliases are counted where they are written. Depth and complexity are checked
// for each operation and each fragment, and ignore fields named `__…`
// (introspection and __typename): introspection is either off, and rejected,
// or deliberately on, and GraphiQL's own introspection query is deeper than
// any sensible depth limit.
//
// Every error answered carries extensions.code: BAD_USER_INPUT for request,
// parse, validation and limit errors; a resolver's domain code (see
// domain.CodeOf) with its message; INTERNAL, with a generic message, for any
// other resolver failure, which is logged with the request id instead;
// PERSISTED_QUERY_NOT_FOUND for an unknown APQ hash.
package gql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
	httpserver "github.com/rustok/rustok/transport/http"
)

// Defaults applied by New to zero Limits fields.
const (
	DefaultMaxDepth           = 12
	DefaultMaxComplexity      = 1000
	DefaultMaxAliases         = 30
	DefaultMaxQueryBytes      = 64 << 10 // 64 KiB
	DefaultMaxTokens          = 5000
	DefaultMaxNesting         = 64
	DefaultMaxFields          = 500
	DefaultMaxArguments       = 200
	DefaultMaxDirectives      = 50
	DefaultMaxVariables       = 100
	DefaultMaxDefinitions     = 100
	DefaultDocumentCacheSize  = 1000
	DefaultDocumentCacheBytes = 32 << 20 // 32 MiB
)

// Limits bound what one GraphQL document may ask for. A zero field takes its
// default; a negative limit is off.
//
// MaxQueryBytes and the limits counted before parsing (MaxTokens through
// MaxDefinitions, by one linear scan of the text) bound what graphql-go's
// parser and validator, which grow faster than linearly with some shapes,
// are ever given: with the defaults, any document is parsed and validated,
// or refused, in milliseconds. MaxDepth, MaxComplexity and MaxAliases bound
// what execution may cost.
type Limits struct {
	// MaxDepth is the deepest allowed nesting of fields, counted through
	// fragments; `{ health }` has depth 1. Default 12.
	MaxDepth int
	// MaxComplexity is the highest allowed cost (see Limits in the package
	// doc: each field costs 1, lists multiply their selection by `first`,
	// default 10). Default 1000.
	MaxComplexity int
	// MaxAliases is the largest number of aliased fields in a document.
	// Default 30.
	MaxAliases int
	// MaxQueryBytes is the largest query text, in bytes. Default 64 KiB.
	MaxQueryBytes int
	// MaxTokens is the most lexical tokens (names, punctuators, numbers,
	// strings) a query may have. Default 5000.
	MaxTokens int
	// MaxNesting is the deepest nesting of braces, brackets and parentheses
	// a query may have (selection sets, list and object values, argument
	// lists). Default 64.
	MaxNesting int
	// MaxFields is the most fields a query may write (aliased or not, in
	// operations and fragments). Default 500.
	MaxFields int
	// MaxArguments is the most arguments, of fields and directives, a query
	// may write. Default 200.
	MaxArguments int
	// MaxDirectives is the most directives a query may write. Default 50.
	MaxDirectives int
	// MaxVariables is the most variable definitions a query may have.
	// Default 100.
	MaxVariables int
	// MaxDefinitions is the most operations and fragments a query may
	// define. Default 100.
	MaxDefinitions int
	// DocumentCacheSize is how many parsed and validated documents (and
	// persisted queries) are kept, least recently used evicted first.
	// Default 1000.
	DocumentCacheSize int
	// DocumentCacheBytes bounds the memory of the cached documents, as
	// estimated from their size (documentCost). Default 32 MiB.
	DocumentCacheBytes int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxComplexity, DefaultMaxComplexity)
	def(&l.MaxAliases, DefaultMaxAliases)
	def(&l.MaxQueryBytes, DefaultMaxQueryBytes)
	def(&l.MaxTokens, DefaultMaxTokens)
	def(&l.MaxNesting, DefaultMaxNesting)
	def(&l.MaxFields, DefaultMaxFields)
	def(&l.MaxArguments, DefaultMaxArguments)
	def(&l.MaxDirectives, DefaultMaxDirectives)
	def(&l.MaxVariables, DefaultMaxVariables)
	def(&l.MaxDefinitions, DefaultMaxDefinitions)
	if l.DocumentCacheSize <= 0 {
		l.DocumentCacheSize = DefaultDocumentCacheSize
	}
	if l.DocumentCacheBytes <= 0 {
		l.DocumentCacheBytes = DefaultDocumentCacheBytes
	}
	return l
}

// precheck returns the first limit that the scan of a document exceeds, as
// a message for the client, or "".
func (l Limits) precheck(sc scanResult) string {
	if l.MaxTokens > 0 && sc.tokens > l.MaxTokens {
		return fmt.Sprintf("the query has more than %d tokens", l.MaxTokens)
	}
	if l.MaxNesting > 0 && sc.depth > l.MaxNesting {
		return fmt.Sprintf("the query nests brackets deeper than %d levels", l.MaxNesting)
	}
	for _, c := range []struct {
		what       string
		got, limit int
	}{
		{"field", sc.fields, l.MaxFields},
		{"alias", sc.aliases, l.MaxAliases},
		{"argument", sc.arguments, l.MaxArguments},
		{"directive", sc.directives, l.MaxDirectives},
		{"variable", sc.variables, l.MaxVariables},
		{"definition", sc.definitions, l.MaxDefinitions},
	} {
		if c.limit > 0 && c.got > c.limit {
			return fmt.Sprintf("query %s count %d exceeds the limit of %d", c.what, c.got, c.limit)
		}
	}
	return ""
}

// Options configure a Handler.
type Options struct {
	Limits Limits
	// Introspection allows __schema and __type queries and publishes the
	// SDL at /graphql/schema.graphql. Keep it off in production.
	Introspection bool
	// Playground, when set, serves the GraphiQL page to browsers on GET
	// and its assets under /graphql/assets/; nil serves none.
	Playground PlaygroundPage
	// Logger receives internal errors; nil discards.
	Logger *slog.Logger
	// Registry receives the GraphQL metrics; nil registers none.
	Registry prometheus.Registerer
	// RequestID returns the request id carried by a context, for logging
	// internal errors (httpserver.RequestID); nil logs none.
	RequestID func(ctx context.Context) string
	// RequireTenant returns nil when the request's context carries its
	// tenant, else the reason it has none (tenancy.Require); the request is
	// then answered with that error. It is asked only for operations that
	// select more than introspection (__schema, __type, __typename), which
	// needs no tenant: the schema is the same for every tenant. Nil
	// requires nothing.
	RequireTenant func(ctx context.Context) error
	// ReadYourWrites configures the bounded wait of AwaitPosition
	// (minPosition arguments).
	ReadYourWrites ReadYourWrites
	// RequestTimeout bounds the time of one request, validation and
	// execution together (a client's disconnect ends it sooner); resolvers
	// see it on their context. Set it below the server's write timeout so
	// that the answer still gets out. 0 sets none.
	RequestTimeout time.Duration
	// PlaygroundHeaders returns the request headers to pre-fill in the
	// GraphiQL page served for a request (the tenant header when the
	// tenant is known); nil pre-fills none.
	PlaygroundHeaders func(ctx context.Context) map[string]string
}

// Fields are the root fields one module contributes. Field names must be
// unique across all parts given to New.
type Fields struct {
	Query    graphql.Fields
	Mutation graphql.Fields
}

// Request is one GraphQL request as sent over HTTP.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// CacheStats are the document cache's counters since New.
type CacheStats struct {
	// Hits and Misses count document cache lookups.
	Hits, Misses uint64
	// Parses counts documents parsed (a miss with a query to parse).
	Parses uint64
	// Entries is the number of cached documents, and Bytes their estimated
	// memory.
	Entries, Bytes int
}

// Handler executes GraphQL requests against the schema built by New. It is
// safe for concurrent use.
type Handler struct {
	schema        graphql.Schema
	limits        Limits
	introspection bool
	logger        *slog.Logger
	requestID     func(context.Context) string
	metrics       *metrics

	requireTenant     func(context.Context) error
	requestTimeout    time.Duration
	readYourWrites    ReadYourWrites
	playgroundHeaders func(context.Context) map[string]string

	limitRules []graphql.ValidationRuleFn
	specRules  []graphql.ValidationRuleFn

	cache                *lru
	hits, misses, parses atomic.Uint64

	sdl      string
	graphiql PlaygroundPage
}

// PlaygroundPage serves the GraphiQL page and its assets; package graphiql
// implements it.
type PlaygroundPage interface {
	// ServePage writes the page, with headers pre-filled in its request
	// headers editor.
	ServePage(w http.ResponseWriter, r *http.Request, headers map[string]string)
	// AssetsHandler serves the page's scripts and styles.
	AssetsHandler() http.Handler
}

// New builds the schema once from parts and returns its handler. It returns
// an error when no part has a query field, when two parts define the same
// root field, when graphql-go rejects the schema, or when a metric cannot be
// registered.
func New(opts Options, parts ...Fields) (*Handler, error) {
	query, err := mergeFields("query", parts, func(f Fields) graphql.Fields { return f.Query })
	if err != nil {
		return nil, err
	}
	if len(query) == 0 {
		return nil, errors.New("build graphql schema: no query fields")
	}
	mutation, err := mergeFields("mutation", parts, func(f Fields) graphql.Fields { return f.Mutation })
	if err != nil {
		return nil, err
	}

	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	cfg := graphql.SchemaConfig{
		Query: graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: timedRootFields("Query", query, m.resolverDuration)}),
	}
	if len(mutation) > 0 {
		cfg.Mutation = graphql.NewObject(graphql.ObjectConfig{Name: "Mutation", Fields: timedRootFields("Mutation", mutation, m.resolverDuration)})
	}
	schema, err := graphql.NewSchema(cfg)
	if err != nil {
		return nil, fmt.Errorf("build graphql schema: %w", err)
	}
	if nested := nestedResolverObservers(&schema, m.resolverDuration); len(nested) > 0 {
		schema.AddExtensions(&timingExtension{observers: nested})
	}

	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	limits := opts.Limits.withDefaults()
	budget, err := newIntrospectionBudget(&schema)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		schema:            schema,
		limits:            limits,
		introspection:     opts.Introspection,
		logger:            opts.Logger,
		requestID:         opts.RequestID,
		metrics:           m,
		requireTenant:     opts.RequireTenant,
		requestTimeout:    opts.RequestTimeout,
		readYourWrites:    opts.ReadYourWrites,
		playgroundHeaders: opts.PlaygroundHeaders,
		limitRules:        limitRules(limits, budget),
		// A fresh slice: appending to graphql.SpecifiedRules itself could
		// write into its spare capacity, shared by every schema.
		specRules: slices.Clone(graphql.SpecifiedRules),
		cache:     newLRU(limits.DocumentCacheSize, limits.DocumentCacheBytes),
		graphiql:  opts.Playground,
	}
	if !opts.Introspection {
		h.specRules = append(h.specRules, noIntrospectionRule)
	}
	warmEnums(&schema)
	h.sdl = printSDL(&schema)
	return h, nil
}

func mergeFields(kind string, parts []Fields, pick func(Fields) graphql.Fields) (graphql.Fields, error) {
	merged := graphql.Fields{}
	for _, p := range parts {
		for name, f := range pick(p) {
			if _, dup := merged[name]; dup {
				return nil, fmt.Errorf("build graphql schema: %s field %q is defined twice", kind, name)
			}
			merged[name] = f
		}
	}
	return merged, nil
}

// SDL returns the schema in the GraphQL schema definition language.
func (h *Handler) SDL() string { return h.sdl }

// CacheStats returns the document cache's counters.
func (h *Handler) CacheStats() CacheStats {
	entries, bytes := h.cache.held()
	return CacheStats{Hits: h.hits.Load(), Misses: h.misses.Load(), Parses: h.parses.Load(), Entries: entries, Bytes: bytes}
}

// Execute runs one request (mutations included) and returns its result.
// Every error in the result carries extensions.code; see the package doc for
// the pipeline. It never returns nil.
func (h *Handler) Execute(ctx context.Context, req Request) *graphql.Result {
	return h.run(ctx, req, true).result
}

// outcome is a result with the HTTP status it should be answered with and
// whether execution began (when it did not, the answer has no data entry).
type outcome struct {
	result   *graphql.Result
	status   int
	executed bool
}

// run is the pipeline. allowMutation is false for GET requests.
func (h *Handler) run(ctx context.Context, req Request, allowMutation bool) outcome {
	if h.requestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.requestTimeout)
		defer cancel()
	}
	pqHash, err := persistedQueryHash(req.Extensions)
	if err != nil {
		return h.refuse(http.StatusBadRequest, domain.CodeBadInput, err.Error())
	}
	query := req.Query
	if limit := h.limits.MaxQueryBytes; limit > 0 && len(query) > limit {
		return h.refuse(http.StatusOK, domain.CodeBadInput,
			fmt.Sprintf("query size %d bytes exceeds the limit of %d bytes", len(query), limit))
	}
	var doc *ast.Document
	switch {
	case pqHash != "" && query == "":
		e, ok := h.cache.get(pqHash)
		h.countLookup(ok)
		if !ok {
			return h.refuse(http.StatusOK, codePersistedQueryNotFound, "PersistedQueryNotFound")
		}
		doc = e.doc
	case query == "":
		return h.refuse(http.StatusBadRequest, domain.CodeBadInput, "the request has no query")
	default:
		key := hashQuery(query)
		if pqHash != "" && key != pqHash {
			return h.refuse(http.StatusBadRequest, domain.CodeBadInput, "provided sha256Hash does not match the query")
		}
		var errs []gqlerrors.FormattedError
		if doc, errs = h.document(ctx, key, query); errs != nil {
			return outcome{result: &graphql.Result{Errors: h.badInput(errs)}, status: http.StatusOK}
		}
	}

	op := selectOperation(doc, req.OperationName)
	if op != nil && op.Operation == ast.OperationTypeMutation && !allowMutation {
		return h.refuse(http.StatusMethodNotAllowed, domain.CodeBadInput, "mutations are not allowed over GET: use POST")
	}
	introspectionOnly, hasIntrospection := rootIntrospection(doc, op)
	if h.requireTenant != nil && !introspectionOnly {
		if err := h.requireTenant(ctx); err != nil {
			return h.refuseError(ctx, err)
		}
	}
	vars, verrs := coerceVariables(&h.schema, op, req.Variables)
	if verrs != nil {
		return outcome{result: &graphql.Result{Errors: h.badInput(verrs)}, status: http.StatusOK}
	}

	rw := &consistency{cfg: h.readYourWrites}
	res := graphql.Execute(graphql.ExecuteParams{
		Schema:        h.schema,
		AST:           doc,
		OperationName: req.OperationName,
		Args:          vars,
		Context:       context.WithValue(ctx, consistencyKey{}, rw),
	})
	h.mapErrors(ctx, res.Errors)
	if ext := rw.extension(); ext != nil {
		res.Extensions = map[string]any{"readYourWrites": ext}
	}
	if hasIntrospection {
		nullBlankDescriptions(doc, op, res.Data)
	}
	return outcome{result: res, status: http.StatusOK, executed: true}
}

// refuseError answers a request that cannot run because of err (no tenant,
// say) with err's status and code, as the HTTP error handler would.
func (h *Handler) refuseError(ctx context.Context, err error) outcome {
	p := httpserver.ProblemOf(err, h.reqID(ctx))
	if p.Code == string(domain.CodeInternal) {
		h.logger.ErrorContext(ctx, "graphql request failed before execution", "request_id", p.RequestID, "error", err.Error())
	}
	return h.refuse(p.Status, domain.Code(p.Code), p.Detail)
}

// document returns the parsed and validated document for query, from the
// cache or by parsing and validating it; only valid documents are cached.
func (h *Handler) document(ctx context.Context, key, query string) (*ast.Document, []gqlerrors.FormattedError) {
	if e, ok := h.cache.get(key); ok {
		h.countLookup(true)
		return e.doc, nil
	}
	h.countLookup(false)
	h.parses.Add(1)
	doc, cost, errs := h.parseAndValidate(ctx, query)
	if errs != nil {
		return nil, errs
	}
	h.cache.add(key, cacheEntry{query: query, doc: doc, cost: cost})
	return doc, nil
}

// parseAndValidate scans, parses and validates query, and returns the
// document with its estimated memory cost. Between the stages it gives up
// when ctx ends (the client left, or the request's time is up).
func (h *Handler) parseAndValidate(ctx context.Context, query string) (doc *ast.Document, cost int, errs []gqlerrors.FormattedError) {
	// graphql-go's parser and rules are not hardened against every input:
	// a panic there is a bad document, not a crash.
	defer func() {
		if r := recover(); r != nil {
			h.logger.ErrorContext(ctx, "graphql parse or validation panicked", "request_id", h.reqID(ctx),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			doc, errs = nil, []gqlerrors.FormattedError{gqlerrors.NewFormattedError("the query could not be parsed")}
		}
	}()
	gone := func() []gqlerrors.FormattedError {
		if err := ctx.Err(); err != nil {
			return []gqlerrors.FormattedError{gqlerrors.NewFormattedError("the request ended before its query was validated")}
		}
		return nil
	}
	sc := scanDocument(query, h.limits.MaxTokens, h.limits.MaxNesting)
	if msg := h.limits.precheck(sc); msg != "" {
		return nil, 0, []gqlerrors.FormattedError{gqlerrors.NewFormattedError(msg)}
	}
	doc, err := parseDocument(query, sc)
	if err != nil {
		return nil, 0, []gqlerrors.FormattedError{gqlerrors.FormatError(err)}
	}
	for _, rules := range [][]graphql.ValidationRuleFn{h.limitRules, h.specRules} {
		if errs := gone(); errs != nil {
			return nil, 0, errs
		}
		if vr := graphql.ValidateDocument(&h.schema, doc, rules); !vr.IsValid {
			return nil, 0, h.validationWording(vr.Errors)
		}
	}
	return doc, documentCost(query, sc.tokens), nil
}

// didYouMean matches graphql-go's suggestions in validation messages
// (`Cannot query field "x" on type "Query". Did you mean "y"?`).
var didYouMean = regexp.MustCompile(` Did you mean [^?]*\?`)

// validationWording words nil values as null in validation messages and,
// when introspection is off, removes graphql-go's "Did you mean …?"
// suggestions: they would reveal the schema that introspection hides.
func (h *Handler) validationWording(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	errs = nullWording(errs)
	if !h.introspection {
		for i := range errs {
			errs[i].Message = didYouMean.ReplaceAllString(errs[i].Message, "")
		}
	}
	return errs
}

// nullWording words nil values as null in validation messages.
func nullWording(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	for i := range errs {
		errs[i].Message = withNullWording(errs[i].Message)
	}
	return errs
}

func (h *Handler) countLookup(hit bool) {
	if hit {
		h.hits.Add(1)
	} else {
		h.misses.Add(1)
	}
}

func (h *Handler) reqID(ctx context.Context) string {
	if h.requestID == nil {
		return ""
	}
	return h.requestID(ctx)
}

// selectOperation returns the operation named name, or the only operation
// when name is empty; nil when there is no such single operation (execution
// then reports why).
func selectOperation(doc *ast.Document, name string) *ast.OperationDefinition {
	var found *ast.OperationDefinition
	for _, d := range doc.Definitions {
		op, ok := d.(*ast.OperationDefinition)
		if !ok {
			continue
		}
		if name == "" {
			if found != nil {
				return nil
			}
			found = op
			continue
		}
		if op.Name != nil && op.Name.Value == name {
			return op
		}
	}
	return found
}

// hashQuery is the document cache key and the APQ hash: hex sha256 of the
// query text.
func hashQuery(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}
