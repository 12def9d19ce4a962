package gql

import (
	"context"
	"errors"
	"fmt"
	metricsreg "github.com/rustok/rustok/platform/metrics"
	"log/slog"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
)

// metrics are the GraphQL metrics named in the contract.
type metrics struct {
	errors           *prometheus.CounterVec
	resolverDuration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rustok_graphql_errors_total",
			Help: "GraphQL errors returned to clients, by extensions.code.",
		}, []string{"code"}),
		resolverDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rustok_graphql_resolver_duration_seconds",
			Help:    "Time spent in GraphQL resolvers (root fields and fields with their own resolver), by parent type and field.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms … ~4 s
		}, []string{"type", "field"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.errors, err = metricsreg.Register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.resolverDuration, err = metricsreg.Register(reg, m.resolverDuration); err != nil {
		return nil, err
	}
	return m, nil
}

// withCode returns a client error carrying extensions.code.
func withCode(message, code string) gqlerrors.FormattedError {
	fe := gqlerrors.NewFormattedError(message)
	fe.Extensions = map[string]any{"code": code}
	return fe
}

// refuse answers a request that is not executed with one error.
func (h *Handler) refuse(status int, code domain.Code, message string) outcome {
	h.metrics.errors.WithLabelValues(string(code)).Inc()
	return outcome{result: &graphql.Result{Errors: []gqlerrors.FormattedError{withCode(message, string(code))}}, status: status}
}

// badInput marks parse and validation errors as BAD_USER_INPUT.
func (h *Handler) badInput(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	for i := range errs {
		errs[i].Extensions = map[string]any{"code": string(domain.CodeBadInput)}
	}
	h.metrics.errors.WithLabelValues(string(domain.CodeBadInput)).Add(float64(len(errs)))
	return errs
}

// mapErrors gives each execution error its code and a message safe to show:
//
//   - an error with a *domain.Error in its cause chain takes its code and
//     message (a resolver's application error);
//   - a context error (the request was cancelled or timed out) is INTERNAL;
//   - any other error at a field path is INTERNAL: a resolver's plain error,
//     a panic, a non-null violation. Its text is logged, never shown;
//   - any other error without a path comes from preparing the operation
//     (variable values, operation name) and is BAD_USER_INPUT as worded by
//     graphql-go.
func (h *Handler) mapErrors(ctx context.Context, errs []gqlerrors.FormattedError) {
	for i := range errs {
		fe := &errs[i]
		cause := causeOf(fe.OriginalError())
		var de *domain.Error
		var code domain.Code
		switch {
		case errors.As(cause, &de):
			code = domain.CodeOf(cause)
			fe.Message = domain.MessageOf(cause)
		case errors.Is(cause, context.Canceled), errors.Is(cause, context.DeadlineExceeded):
			code = domain.CodeInternal
		case len(fe.Path) > 0 || cause == nil:
			code = domain.CodeInternal
		default:
			code = domain.CodeBadInput
		}
		ext := map[string]any{"code": string(code)}
		if code == domain.CodeInternal {
			// A cancelled request is the client's doing or a deadline's,
			// not a fault: keep it out of the error log.
			level := slog.LevelError
			if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
				level = slog.LevelWarn
			}
			h.logger.Log(ctx, level, "graphql request failed", "request_id", h.reqID(ctx),
				"path", pathString(fe.Path), "error", errorText(fe, cause))
			fe.Message = domain.MessageOf(nil)
		} else if field := domain.FieldOf(cause); field != "" {
			ext["field"] = field
		}
		fe.Extensions = ext
		h.metrics.errors.WithLabelValues(string(code)).Inc()
	}
}

// causeOf unwraps graphql-go's error wrappers, which have no Unwrap method,
// down to the error a resolver returned (or graphql-go raised).
func causeOf(err error) error {
	for range 32 { // the wrappers never nest deeper; the bound only guards a cycle
		switch e := err.(type) {
		case *gqlerrors.Error:
			if e.OriginalError == nil {
				return err
			}
			err = e.OriginalError
		case gqlerrors.Error:
			if e.OriginalError == nil {
				return err
			}
			err = e.OriginalError
		case gqlerrors.FormattedError:
			if e.OriginalError() == nil {
				return err
			}
			err = e.OriginalError()
		default:
			return err
		}
	}
	return err
}

func errorText(fe *gqlerrors.FormattedError, cause error) string {
	if cause != nil {
		return cause.Error()
	}
	return fe.Message
}

func pathString(path []any) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, p)
	}
	return b.String()
}
