package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// invalidValue says what a key's value must be. The decoder wraps it with the
// key's name; decodeProblems adds the value, unless the key is secret.
type invalidValue struct {
	want string
}

func (e *invalidValue) Error() string { return e.want }

// decodeHook converts a parsed value (a YAML type, a string from the
// environment, or a typed default) into the type of its Config field, and
// refuses what would otherwise be converted silently: a bare number as a
// duration, a number or bool as a string, a fraction or an out-of-range
// number as an integer.
func decodeHook(_, to reflect.Type, data any) (any, error) {
	switch {
	case to == reflect.TypeFor[time.Duration]():
		return toDuration(data)
	case to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.String:
		switch v := data.(type) {
		case string:
			return splitList(v), nil
		case []any, []string:
			return v, nil // each element comes back here as a string
		}
		return nil, &invalidValue{want: "must be a list of strings, or one comma-separated string"}
	case to.Kind() == reflect.String:
		if s, ok := data.(string); ok {
			return s, nil
		}
		return nil, &invalidValue{want: "must be a string (quote it in YAML)"}
	case to.Kind() == reflect.Bool:
		switch v := data.(type) {
		case bool:
			return v, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				return b, nil
			}
		}
		return nil, &invalidValue{want: "must be true or false"}
	case isInteger(to.Kind()):
		return toInteger(data, to)
	case to.Kind() == reflect.Struct:
		if _, ok := data.(map[string]any); ok {
			return data, nil
		}
		return nil, &invalidValue{want: "must be a section of keys, not a single value"}
	}
	return data, nil
}

// toDuration converts a Go duration string, or a default, to a duration.
func toDuration(data any) (any, error) {
	const want = `must be a duration such as "5s", "250ms" or "1h30m"`
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, &invalidValue{want: want}
		}
		return d, nil
	}
	return nil, &invalidValue{want: want + " (a bare number has no unit)"}
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// toInteger converts a whole number, given as a number or as a decimal
// string, to the integer type to, refusing values out of its range.
func toInteger(data any, to reflect.Type) (any, error) {
	n, ok := wholeNumber(data)
	if !ok {
		return nil, &invalidValue{want: "must be a whole number"}
	}
	out := reflect.New(to).Elem()
	switch to.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n < 0 || out.OverflowUint(uint64(n)) {
			return nil, &invalidValue{want: fmt.Sprintf("must be a whole number between 0 and %d", uint64(1)<<to.Bits()-1)}
		}
		out.SetUint(uint64(n))
	default:
		if out.OverflowInt(n) {
			return nil, &invalidValue{want: "must be a whole number in range"}
		}
		out.SetInt(n)
	}
	return out.Interface(), nil
}

// wholeNumber returns data as an int64 if it is an integer, a float without
// fraction, or a base-10 integer string.
func wholeNumber(data any) (int64, bool) {
	switch v := reflect.ValueOf(data); v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return 0, false
		}
		return int64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	case reflect.String:
		n, err := strconv.ParseInt(strings.TrimSpace(v.String()), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// splitList splits a comma-separated string, trimming spaces and dropping
// empty items: "a, b,,c" is [a b c], and "" is an empty list.
func splitList(s string) []string {
	items := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// isSecretKey reports whether key holds a secret whose value must never be
// shown, even in an error.
func isSecretKey(key string) bool {
	switch key {
	case "auth.jwt.secret", "auth.jwt.keys", "server.metrics.token", "settings.rustok.email.smtp.password":
		return true
	}
	return false
}

// show formats value for an error message about key: quoted if a string,
// with URL passwords masked and long values shortened. It reports false for
// a secret key or a missing value, which must not be shown.
func show(key string, value any) (string, bool) {
	if value == nil || isSecretKey(key) {
		return "", false
	}
	var s string
	if str, ok := value.(string); ok {
		s = strconv.Quote(RedactURL(str))
	} else {
		s = RedactURL(fmt.Sprint(value))
	}
	const maxShown = 80
	if len(s) > maxShown {
		s = strings.ToValidUTF8(s[:maxShown], "") + "…"
	}
	return s, true
}
