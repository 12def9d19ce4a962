package principalcache

import (
	"encoding/binary"
	"errors"

	"github.com/rustok/rustok/domain/user"
)

// entry is a cached session as bigcache stores it (binary, see encode).
type entry struct {
	revoked   bool
	userFound bool   // the user exists (not deleted)
	userGen   uint64 // the user stripe's generation before the load read
	expiresAt int64  // session expiry, Unix nanoseconds
	loadedAt  int64  // Unix nanoseconds, for MaxAge
	tenantID  string
	userID    string
	role      user.Role
	status    user.Status
}

const (
	entryFormat = 1

	flagRevoked   = 1 << 0
	flagUserFound = 1 << 1

	headerSize = 1 + 1 + 8 + 8 + 8 // format, flags, userGen, expiresAt, loadedAt
)

var errBadEntry = errors.New("undecodable principal cache entry")

// encode lays e out as: format, flags, userGen, expiresAt, loadedAt (big
// endian), then tenant, user, role and status, each preceded by its length
// in one byte (ids are 36 bytes, roles and statuses short words).
func (e entry) encode() ([]byte, error) {
	strs := [...]string{e.tenantID, e.userID, string(e.role), string(e.status)}
	n := headerSize
	for _, s := range strs {
		if len(s) > 255 {
			return nil, errBadEntry
		}
		n += 1 + len(s)
	}
	b := make([]byte, headerSize, n)
	b[0] = entryFormat
	if e.revoked {
		b[1] |= flagRevoked
	}
	if e.userFound {
		b[1] |= flagUserFound
	}
	binary.BigEndian.PutUint64(b[2:], e.userGen)
	binary.BigEndian.PutUint64(b[10:], uint64(e.expiresAt))
	binary.BigEndian.PutUint64(b[18:], uint64(e.loadedAt))
	for _, s := range strs {
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

// view is a decoded entry whose strings still point into the entry's bytes:
// comparing them allocates nothing.
type view struct {
	revoked, userFound  bool
	userGen             uint64
	expiresAt, loadedAt int64
	tenantID, userID    []byte
	role, status        []byte
}

func decode(b []byte) (view, error) {
	if len(b) < headerSize || b[0] != entryFormat {
		return view{}, errBadEntry
	}
	v := view{
		revoked:   b[1]&flagRevoked != 0,
		userFound: b[1]&flagUserFound != 0,
		userGen:   binary.BigEndian.Uint64(b[2:]),
		expiresAt: int64(binary.BigEndian.Uint64(b[10:])),
		loadedAt:  int64(binary.BigEndian.Uint64(b[18:])),
	}
	rest := b[headerSize:]
	for _, dst := range [...]*[]byte{&v.tenantID, &v.userID, &v.role, &v.status} {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return view{}, errBadEntry
		}
		*dst, rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
	}
	if len(rest) != 0 {
		return view{}, errBadEntry
	}
	return v, nil
}

// roleOf and statusOf return the constants for the known values, so that a
// hit allocates no string for them.
func roleOf(b []byte) user.Role {
	switch string(b) {
	case string(user.RoleSuperAdmin):
		return user.RoleSuperAdmin
	case string(user.RoleAdmin):
		return user.RoleAdmin
	case string(user.RoleManager):
		return user.RoleManager
	case string(user.RoleCustomer):
		return user.RoleCustomer
	}
	return user.Role(b)
}

func statusOf(b []byte) user.Status {
	switch string(b) {
	case string(user.StatusActive):
		return user.StatusActive
	case string(user.StatusInactive):
		return user.StatusInactive
	case string(user.StatusBanned):
		return user.StatusBanned
	}
	return user.Status(b)
}

// A negative entry is: format, loadedAt (8 bytes), then the tenant id the
// session was looked for in.
const negHeaderSize = 1 + 8

func encodeAbsent(tenantID string, loadedAt int64) []byte {
	b := make([]byte, negHeaderSize, negHeaderSize+len(tenantID))
	b[0] = entryFormat
	binary.BigEndian.PutUint64(b[1:], uint64(loadedAt))
	return append(b, tenantID...)
}

func decodeAbsent(b []byte) (tenantID []byte, loadedAt int64, err error) {
	if len(b) < negHeaderSize || b[0] != entryFormat {
		return nil, 0, errBadEntry
	}
	return b[negHeaderSize:], int64(binary.BigEndian.Uint64(b[1:])), nil
}

// fnv1a hashes s (FNV-1a, 64 bits) without allocating: stripes of
// generations and locks are chosen by it.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
