package fakes

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkIndex compares ix with want, key by key and in order, and checks
// the blocks: none empty, none over full, keys ascending within and across
// them, and no block's key buffer more than half dead once packed.
func checkIndex(t *testing.T, ix *s3Index, want map[string]int64) {
	t.Helper()
	if ix.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(want))
	}
	var got []string
	ix.Ascend("", func(e *s3Entry) bool {
		if e.size != want[e.key] {
			t.Fatalf("%q: size %d, want %d", e.key, e.size, want[e.key])
		}
		got = append(got, e.key)
		return true
	})
	if keys := slices.Sorted(maps.Keys(want)); !slices.Equal(got, keys) {
		t.Fatalf("Ascend gave %d keys, want %d in order", len(got), len(keys))
	}
	prev := ""
	for i, bl := range ix.blocks {
		if len(bl.slots) == 0 || len(bl.slots) >= s3BlockMax {
			t.Fatalf("block %d of %d holds %d slots", i, len(ix.blocks), len(bl.slots))
		}
		for j := range bl.slots {
			k := string(bl.key(j))
			if k <= prev && !(i == 0 && j == 0) {
				t.Fatalf("block %d slot %d: %q after %q", i, j, k, prev)
			}
			prev = k
		}
	}
	for k, size := range want {
		e, ok := ix.Get(k)
		if !ok || e.size != size || e.key != k {
			t.Fatalf("Get(%q) = %+v, %v", k, e, ok)
		}
	}
}

// The index against a map: random puts, overwrites and deletes, with keys
// in random order, in ascending order and sharing long prefixes, down to
// empty and back.
func TestS3IndexAgainstMap(t *testing.T) {
	seg := &s3Segment{num: 1}
	for _, shape := range []string{"random", "ascending", "descending", "prefixed"} {
		t.Run(shape, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(shape))))
			ix := newS3Index()
			want := map[string]int64{}
			n := 0
			key := func() string {
				n++
				switch shape {
				case "ascending":
					return fmt.Sprintf("k/%08d", n)
				case "descending":
					return fmt.Sprintf("k/%08d", 1e8-n)
				case "prefixed":
					return strings.Repeat("inbound/2026/12/02/", 3) + fmt.Sprint(r.IntN(3000))
				}
				return fmt.Sprint(r.Uint64N(5000))
			}
			put := func(k string, size int64) {
				old, replaced := ix.Put(&s3Entry{key: k, seg: seg, s3Loc: s3Loc{size: size}})
				if _, had := want[k]; had != replaced || (had && old.size != want[k]) {
					t.Fatalf("Put(%q) replaced %v (size %d), want %v (size %d)", k, replaced, old.size, had, want[k])
				}
				want[k] = size
			}
			for round := range 3 {
				for i := range 4000 {
					put(key(), int64(i))
				}
				checkIndex(t, ix, want)
				// Overwrite a third, delete most, including absent keys.
				keys := slices.Sorted(maps.Keys(want))
				for _, k := range keys[:len(keys)/3] {
					put(k, -1)
				}
				r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
				for i, k := range keys {
					if round < 2 && i%5 == 0 {
						continue
					}
					old, ok := ix.Delete(k)
					if !ok || old.size != want[k] {
						t.Fatalf("Delete(%q) = %d, %v", k, old.size, ok)
					}
					delete(want, k)
					if _, ok := ix.Delete(k); ok {
						t.Fatalf("a second Delete(%q) found it", k)
					}
				}
				checkIndex(t, ix, want)
			}
			if ix.Len() != 0 || len(ix.blocks) != 0 {
				t.Fatalf("emptied index has %d entries in %d blocks", ix.Len(), len(ix.blocks))
			}
		})
	}
}

// Ascend starts at the first key at or after from and stops when told.
func TestS3IndexAscendFrom(t *testing.T) {
	ix := newS3Index()
	seg := &s3Segment{num: 1}
	for i := range 1000 {
		ix.Put(&s3Entry{key: fmt.Sprintf("k%04d", i*2), seg: seg})
	}
	for _, c := range []struct{ from, first string }{
		{"", "k0000"}, {"k0000", "k0000"}, {"k0001", "k0002"}, {"k1000", "k1000"}, {"k1997", "k1998"}, {"k1998", "k1998"}, {"a", "k0000"},
	} {
		var got []string
		ix.Ascend(c.from, func(e *s3Entry) bool {
			got = append(got, e.key)
			return len(got) < 3
		})
		if len(got) == 0 || got[0] != c.first {
			t.Errorf("Ascend(%q) began with %q, want %q", c.from, got, c.first)
		}
	}
	n := 0
	ix.Ascend("k1999", func(*s3Entry) bool { n++; return true })
	if n != 0 {
		t.Errorf("Ascend past the last key visited %d", n)
	}
}

// SetDigest sets a digest only on the record it was computed for, once;
// Relocate moves every entry to the new segment in key order; an entry
// knows its segment by number.
func TestS3IndexDigestAndRelocate(t *testing.T) {
	ix := newS3Index()
	one, two := &s3Segment{num: 1}, &s3Segment{num: 2}
	ix.Put(&s3Entry{key: "a", seg: one, s3Loc: s3Loc{at: 0, size: 10}})
	ix.Put(&s3Entry{key: "b", seg: two, s3Loc: s3Loc{at: 100, size: 20}})
	sum := [16]byte{1}
	ix.SetDigest("a", two, 0, sum, 0)   // another segment
	ix.SetDigest("a", one, 100, sum, 0) // another record
	if e, _ := ix.Get("a"); e.hashed {
		t.Fatal("a digest for another record was kept")
	}
	ix.SetDigest("a", one, 0, sum, 3)
	ix.SetDigest("a", one, 0, [16]byte{2}, 0)
	if e, _ := ix.Get("a"); !e.hashed || e.md5 != sum || e.parts != 3 || e.seg != one {
		t.Fatalf("a = %+v", e)
	}
	if e, _ := ix.Get("b"); e.seg != two || e.at != 100 {
		t.Fatalf("b = %+v", e)
	}
	three := &s3Segment{num: 3}
	ix.Relocate(three, 22)
	a, _ := ix.Get("a")
	b, _ := ix.Get("b")
	if a.seg != three || a.at != 22 || b.seg != three || b.at != 22+a.recordSize() {
		t.Fatalf("after Relocate: a %+v, b %+v", a.s3Loc, b.s3Loc)
	}
	if len(ix.segs) != 1 {
		t.Fatalf("after Relocate the index knows %d segments", len(ix.segs))
	}
	if !a.hashed || a.md5 != sum {
		t.Fatal("Relocate lost a digest")
	}
}

// The index holds no pointer per object: a slot has none, and a million
// entries are some ten thousand blocks, which is what a garbage collection
// walks.
func TestS3IndexIsFlat(t *testing.T) {
	if p := pointerIn(reflect.TypeFor[s3Slot]()); p != "" {
		t.Fatalf("s3Slot holds a pointer: %s", p)
	}
	if size := reflect.TypeFor[s3Slot]().Size(); size > 64 {
		t.Errorf("a slot takes %d bytes, more than 64", size)
	}
	ix := newS3Index()
	seg := &s3Segment{num: 1}
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	for range n {
		ix.Put(&s3Entry{key: fmt.Sprintf("inbound/%016x", r.Uint64()), seg: seg})
	}
	if blocks := len(ix.blocks); blocks > n/(s3BlockMax/2) {
		t.Fatalf("%d entries in %d blocks", n, blocks)
	}
}

// pointerIn names a field of t that is or holds a pointer, or returns "".
func pointerIn(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if p := pointerIn(t.Field(i).Type); p != "" {
				return t.Field(i).Name + "." + p
			}
		}
		return ""
	case reflect.Array:
		return pointerIn(t.Elem())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return ""
	}
	return t.String()
}
