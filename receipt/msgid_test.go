package receipt

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := NewMessageID(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !IsMessageID(id) {
			t.Fatalf("NewMessageID() = %q: not 40 lowercase base32hex characters", id)
		}
		if !strings.HasSuffix(id, "1") || !strings.ContainsRune("08go", rune(id[38])) {
			t.Fatalf("NewMessageID() = %q: does not end like SES's IDs", id)
		}
		raw, err := idEncoding.DecodeString(strings.ToUpper(id))
		if err != nil || len(raw) != 25 || raw[24] != 0x01 {
			t.Fatalf("NewMessageID() = %q decodes to %x, %v; want 25 bytes ending in 01", id, raw, err)
		}
		if seen[id] {
			t.Fatalf("NewMessageID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewMessageIDDeterministic(t *testing.T) {
	id, err := NewMessageID(bytes.NewReader(make([]byte, 24)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0000000000000000000000000000000000000001"; id != want {
		t.Fatalf("NewMessageID(zeros) = %q, want %q", id, want)
	}
}

func TestIsMessageIDRealIDs(t *testing.T) {
	// Real SES IDs from public fixtures (ses-inbound.md §4).
	for _, id := range []string{
		"lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781",
		"dse8s7jhc9eg90tmimg1q2scsc14gvjvbbom6n81",
		"bmql2tc8b4h90qte7gat7fdsq0opui6spk9o3fo1",
		"2p0i54npmg3a7ri5h2t19p43m99vlou92u51ca01",
	} {
		if !IsMessageID(id) {
			t.Errorf("IsMessageID(%q) = false", id)
		}
		raw, err := idEncoding.DecodeString(strings.ToUpper(id))
		if err != nil || raw[len(raw)-1] != 0x01 {
			t.Errorf("%q decodes to %x, %v", id, raw, err)
		}
	}
	for _, id := range []string{"", "d6iitobk75ur44p8kdnnp7g2n800", strings.Repeat("w", 40), strings.Repeat("A", 40)} {
		if IsMessageID(id) {
			t.Errorf("IsMessageID(%q) = true", id)
		}
	}
}
