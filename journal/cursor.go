package journal

import (
	"errors"
	"strconv"
	"strings"
)

// Cursor is a position in the record. Its text form is opaque to clients;
// it is the epoch and the sequence number in base 36, and "0" is the start.
type Cursor struct {
	Epoch, Seq uint64
}

// IsZero reports whether c is the start of the record.
func (c Cursor) IsZero() bool { return c == Cursor{} }

func (c Cursor) String() string {
	return string(c.Append(nil))
}

// Append appends c's text form to b.
func (c Cursor) Append(b []byte) []byte {
	if c.IsZero() {
		return append(b, '0')
	}
	b = strconv.AppendUint(b, c.Epoch, 36)
	b = append(b, '-')
	return strconv.AppendUint(b, c.Seq, 36)
}

var errCursor = errors.New("not a cursor from this server (use the \"cursor\" of an earlier answer, an event's id, or 0 for the start)")

// ParseCursor reads a cursor's text form.
func ParseCursor(s string) (Cursor, error) {
	if s == "0" {
		return Cursor{}, nil
	}
	e, q, ok := strings.Cut(s, "-")
	if !ok {
		return Cursor{}, errCursor
	}
	epoch, err1 := strconv.ParseUint(e, 36, 64)
	seq, err2 := strconv.ParseUint(q, 36, 64)
	if err1 != nil || err2 != nil {
		return Cursor{}, errCursor
	}
	return Cursor{Epoch: epoch, Seq: seq}, nil
}
