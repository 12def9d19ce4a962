package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBodyLimit parses a size such as "2M", "512KB", "1g" or "1048576": a
// positive whole number, optional spaces, and an optional unit B, K, KB, M,
// MB, G or GB (case-insensitive, powers of 1024). It returns the size in
// bytes, or an error naming s if s is empty, has no number, has another unit,
// is zero, or exceeds the int64 range.
func ParseBodyLimit(s string) (int64, error) {
	n, reason := parseSize(s)
	if reason != "" {
		return 0, fmt.Errorf("body limit %q: %s", s, reason)
	}
	return n, nil
}

// parseSize does the work of ParseBodyLimit and explains a refusal in reason.
func parseSize(s string) (n int64, reason string) {
	s = strings.TrimSpace(s)
	digits := 0
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return 0, `must be a whole number of bytes with an optional unit K, KB, M, MB, G or GB, such as "2M"`
	}
	var unit int64
	switch strings.ToUpper(strings.TrimSpace(s[digits:])) {
	case "", "B":
		unit = 1
	case "K", "KB":
		unit = 1 << 10
	case "M", "MB":
		unit = 1 << 20
	case "G", "GB":
		unit = 1 << 30
	default:
		return 0, "unit must be one of B, K, KB, M, MB, G, GB"
	}
	n, err := strconv.ParseInt(s[:digits], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, "is too large"
	}
	if n == 0 {
		return 0, "must be greater than zero"
	}
	return n * unit, ""
}
