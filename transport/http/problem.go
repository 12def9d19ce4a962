package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/rustok/rustok/domain"
)

// ContentTypeProblem is the RFC 9457 media type of error bodies.
const ContentTypeProblem = "application/problem+json"

// statusByCode is the one table from application error codes to HTTP status.
var statusByCode = map[domain.Code]int{
	domain.CodeBadInput:        http.StatusBadRequest,
	domain.CodeUnauthenticated: http.StatusUnauthorized,
	domain.CodeForbidden:       http.StatusForbidden,
	domain.CodeNotFound:        http.StatusNotFound,
	domain.CodeConflict:        http.StatusConflict,
	// A disabled module is invisible to the tenant, as if it did not exist.
	domain.CodeModuleDisabled: http.StatusNotFound,
	domain.CodeRateLimited:    http.StatusTooManyRequests,
	domain.CodeInternal:       http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for an application error code; unknown
// codes are 500.
func StatusOf(code domain.Code) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// codeOfStatus classifies a transport-level HTTP error (from echo or net/http)
// by its status, for the problem's code member.
func codeOfStatus(status int) domain.Code {
	switch {
	case status == http.StatusUnauthorized:
		return domain.CodeUnauthenticated
	case status == http.StatusForbidden:
		return domain.CodeForbidden
	case status == http.StatusNotFound:
		return domain.CodeNotFound
	case status == http.StatusConflict:
		return domain.CodeConflict
	case status == http.StatusTooManyRequests:
		return domain.CodeRateLimited
	case status >= 400 && status < 500:
		return domain.CodeBadInput
	default:
		return domain.CodeInternal
	}
}

// Problem is an RFC 9457 problem details body, with RusToK's members code,
// request_id and, for input errors, field.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
	// Field names the input field at fault, when there is one.
	Field string `json:"field,omitempty"`
	// Details carries per-check results of /health/ready.
	Details map[string]string `json:"details,omitempty"`
}

// ProblemOf builds the problem for err, answering for the request whose id is
// requestID. Application errors (*domain.Error in the chain) map by code;
// echo's HTTP errors and body-limit failures by status; everything else is
// INTERNAL with a generic detail, never the error text.
func ProblemOf(err error, requestID string) Problem {
	status, code, detail := classify(err)
	p := Problem{
		// "about:blank": the status alone says what kind of problem it is;
		// code refines it.
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Code:      string(code),
		RequestID: requestID,
	}
	if code != domain.CodeInternal {
		p.Field = domain.FieldOf(err)
	}
	return p
}

func classify(err error) (status int, code domain.Code, detail string) {
	var de *domain.Error
	if errors.As(err, &de) {
		code = domain.CodeOf(err)
		status = StatusOf(code)
		if code == domain.CodeInternal {
			return status, code, domain.MessageOf(nil)
		}
		return status, code, domain.MessageOf(err)
	}
	if limit, ok := bodyTooLarge(err); ok {
		return http.StatusRequestEntityTooLarge, domain.CodeBadInput, fmt.Sprintf("the request body is larger than the limit of %d bytes", limit)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		code = codeOfStatus(status)
		if code == domain.CodeInternal {
			return status, code, domain.MessageOf(nil)
		}
		if msg, ok := he.Message.(string); ok && msg != "" {
			return status, code, msg
		}
		return status, code, http.StatusText(status)
	}
	return http.StatusInternalServerError, domain.CodeInternal, domain.MessageOf(nil)
}

// WriteProblem answers the request with the problem+json form of err (see
// ProblemOf) and logs INTERNAL errors with the request id. It is the server's
// error handler; other handlers may call it to answer an error inline. When
// the response is already committed it only logs.
func WriteProblem(c echo.Context, err error) error {
	p := logProblem(c, err)
	if c.Response().Committed {
		return nil
	}
	return writeProblem(c, p)
}

// logProblem returns the problem of err and logs what needs logging: an
// INTERNAL error with the request id (and the stack of a panic), and any
// error that came after the response was committed.
func logProblem(c echo.Context, err error) Problem {
	ctx := c.Request().Context()
	p := ProblemOf(err, RequestID(ctx))
	logger, _ := c.Get(loggerKey).(*slog.Logger)
	if logger == nil {
		return p
	}
	if p.Code == string(domain.CodeInternal) {
		attrs := []any{"request_id", p.RequestID, "status", p.Status, "error", err.Error()}
		var pe *panicError
		if errors.As(err, &pe) {
			attrs = append(attrs, "stack", string(pe.stack))
		}
		logger.ErrorContext(ctx, "request failed", attrs...)
	} else if c.Response().Committed {
		logger.WarnContext(ctx, "error after response was committed", "request_id", p.RequestID, "error", err.Error())
	}
	return p
}

func writeProblem(c echo.Context, p Problem) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode problem: %w", err)
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set(echo.HeaderContentType, ContentTypeProblem)
		return c.NoContent(p.Status)
	}
	return c.Blob(p.Status, ContentTypeProblem, body)
}
