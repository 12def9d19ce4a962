package gql

import (
	"encoding/json"
	"errors"
	"strings"
)

// codePersistedQueryNotFound is Apollo's code for an unknown APQ hash; the
// client answers it by sending the query together with the hash.
const codePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

// persistedQueryHash reads extensions.persistedQuery of an APQ request and
// returns its sha256Hash in lowercase hex, or "" when the request has no
// persisted query. The error (a malformed request) says why the member is not
// {version: 1, sha256Hash: hex sha256}.
func persistedQueryHash(ext map[string]any) (string, error) {
	raw, ok := ext["persistedQuery"]
	if !ok || raw == nil {
		return "", nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return "", errors.New("extensions.persistedQuery must be an object")
	}
	switch v := m["version"].(type) {
	case json.Number: // from JSON
		if v.String() != "1" {
			return "", errors.New("unsupported persisted query version: only version 1 is supported")
		}
	case float64:
		if v != 1 {
			return "", errors.New("unsupported persisted query version: only version 1 is supported")
		}
	case int:
		if v != 1 {
			return "", errors.New("unsupported persisted query version: only version 1 is supported")
		}
	default:
		return "", errors.New("unsupported persisted query version: only version 1 is supported")
	}
	hash, _ := m["sha256Hash"].(string)
	if !isSHA256Hex(hash) {
		return "", errors.New("extensions.persistedQuery.sha256Hash must be a hex sha256")
	}
	return strings.ToLower(hash), nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
