package receipt

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
)

// idEncoding is RFC 4648 base32hex in lower case, the alphabet of SES
// message IDs ([0-9a-v]).
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// NewMessageID returns a message ID shaped like SES's: 40 lowercase base32hex
// characters. Every real ID seen decodes to 25 bytes ending in 0x01, so this
// encodes 24 random bytes followed by 0x01; the ID therefore ends in "1" and
// its 39th character is one of 0, 8, g, o, as SES's do.
func NewMessageID(r io.Reader) (string, error) {
	var b [25]byte
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:24]); err != nil {
		return "", fmt.Errorf("new message id: %w", err)
	}
	b[24] = 0x01
	return lowerASCII(idEncoding.EncodeToString(b[:])), nil
}

// IsMessageID reports whether s has the shape of a modern SES message ID.
func IsMessageID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// rand is the processor's source of randomness: message IDs, the opaque
// SES headers, DSN boundaries and retry jitter.
func (p *Processor) rand() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}
