package fakes

import (
	"cmp"
	"slices"
)

// A bucket's index holds every object's key, in byte order, and where its
// record is. A store holds millions of objects, and a garbage collection
// walks every pointer on the heap, so the index holds none per object: a
// collection costs the same with a million objects as with none. (With a
// B-tree of pointers to entries, one collection took 79 ms of the whole
// machine at a million objects, and under the heap limit one came every
// second: BenchmarkS3IndexGC.)
//
// The keys are kept in order in blocks of at most s3BlockMax slots. A slot
// has no pointer: it names its segment by number, and its key by where the
// key's bytes are in its block's key buffer. The blocks themselves are the
// only pointers, one per hundred objects or so. A lookup is a binary search
// over the blocks' first keys, then one within a block; an insert moves at
// most a block's slots; a full block is split in two, and a block that
// falls below s3BlockMin is merged with a neighbour when both fit in three
// quarters of one.
//
// The index is guarded by S3.mu.

const (
	s3BlockMax = 128
	s3BlockMin = 32
)

// s3Loc is what an index entry knows of its object besides its key and
// segment: where the record is in the segment and what a listing shows.
type s3Loc struct {
	size     int64
	modified int64 // Unix milliseconds
	at       int64 // where the record starts in its segment
	md5      [16]byte
	metaLen  uint32
	parts    uint32 // a multipart ETag's part count, or 0
}

// s3Slot is an entry as the index holds it.
type s3Slot struct {
	s3Loc
	seg    uint32 // the segment's number
	koff   uint32 // the key is keys[koff:koff+klen] of its block
	klen   uint16 // keys are at most s3MaxKeyLen bytes
	hashed bool
}

// s3Block is a run of slots in key order, and their keys' bytes.
type s3Block struct {
	slots []s3Slot
	keys  []byte
	dead  int // bytes of keys that no slot refers to
}

func (bl *s3Block) key(i int) []byte {
	s := &bl.slots[i]
	return bl.keys[s.koff : s.koff+uint32(s.klen)]
}

// search returns where key is in the block, or would be inserted.
func (bl *s3Block) search(key string) (int, bool) {
	keys := bl.keys
	return slices.BinarySearchFunc(bl.slots, key, func(s s3Slot, k string) int {
		return s3CompareKey(keys[s.koff:s.koff+uint32(s.klen)], k)
	})
}

// s3CompareKey compares a key's bytes with a key; as comparisons, the
// conversions allocate nothing.
func s3CompareKey(b []byte, k string) int {
	switch {
	case string(b) < k:
		return -1
	case string(b) == k:
		return 0
	}
	return 1
}

// s3AddKey stores key's bytes in bl and returns where they are.
func s3AddKey[K string | []byte](bl *s3Block, key K) (uint32, uint16) {
	off := len(bl.keys)
	bl.keys = append(bl.keys, key...)
	return uint32(off), uint16(len(key))
}

// packed returns a block holding slots (of bl), with only their keys.
func (bl *s3Block) packed(slots []s3Slot) *s3Block {
	size := 0
	for i := range slots {
		size += int(slots[i].klen)
	}
	nb := &s3Block{slots: make([]s3Slot, 0, s3BlockMax), keys: make([]byte, 0, size)}
	nb.take(bl, slots)
	return nb
}

// repack keeps the first n slots only, and gives them a key buffer of
// their own keys alone.
func (bl *s3Block) repack(n int) {
	size := 0
	for i := range n {
		size += int(bl.slots[i].klen)
	}
	keys := make([]byte, 0, size)
	for i := range n {
		s := &bl.slots[i]
		k := bl.keys[s.koff : s.koff+uint32(s.klen)]
		s.koff = uint32(len(keys))
		keys = append(keys, k...)
	}
	bl.slots, bl.keys, bl.dead = bl.slots[:n], keys, 0
}

// take appends slots of from, and their keys.
func (bl *s3Block) take(from *s3Block, slots []s3Slot) {
	for _, s := range slots {
		s.koff, s.klen = s3AddKey(bl, from.keys[s.koff:s.koff+uint32(s.klen)])
		bl.slots = append(bl.slots, s)
	}
}

// s3Index is a bucket's index.
type s3Index struct {
	blocks []*s3Block // never empty ones, in key order
	n      int
	// segs are the segments slots refer to, by ascending number: a slot's
	// segment is found here.
	segs []*s3Segment
}

func newS3Index() *s3Index { return &s3Index{} }

// Len is the number of objects.
func (ix *s3Index) Len() int { return ix.n }

// find returns the block that holds key, or would: the last one whose
// first key is at most key (the first block for a key before all).
func (ix *s3Index) find(key string) int {
	i, _ := slices.BinarySearchFunc(ix.blocks, key, func(bl *s3Block, k string) int {
		if string(bl.key(0)) <= k {
			return -1
		}
		return 1
	})
	return max(i-1, 0)
}

// lookup returns the slot of key, or nil.
func (ix *s3Index) lookup(key string) *s3Slot {
	if len(ix.blocks) == 0 {
		return nil
	}
	bl := ix.blocks[ix.find(key)]
	j, ok := bl.search(key)
	if !ok {
		return nil
	}
	return &bl.slots[j]
}

// segment returns segment number num, which a slot refers to.
func (ix *s3Index) segment(num uint32) *s3Segment {
	i, ok := slices.BinarySearchFunc(ix.segs, num, func(g *s3Segment, n uint32) int { return cmp.Compare(g.num, int(n)) })
	if !ok {
		panic("fakes: an index entry refers to a segment it does not know")
	}
	return ix.segs[i]
}

// addSegment makes g known to the index, before a slot refers to it.
// Segments are numbered in the order they are made.
func (ix *s3Index) addSegment(g *s3Segment) {
	if n := len(ix.segs); n > 0 && ix.segs[n-1].num >= g.num {
		if ix.segment(uint32(g.num)) != g {
			panic("fakes: two segments with one number")
		}
		return
	}
	ix.segs = append(ix.segs, g)
}

// entry returns a slot as an entry of key.
func (ix *s3Index) entry(key string, s *s3Slot) s3Entry {
	return s3Entry{key: key, seg: ix.segment(s.seg), s3Loc: s.s3Loc, hashed: s.hashed}
}

// Get returns the entry of key.
func (ix *s3Index) Get(key string) (s3Entry, bool) {
	s := ix.lookup(key)
	if s == nil {
		return s3Entry{}, false
	}
	return ix.entry(key, s), true
}

// Has reports whether key is in the index.
func (ix *s3Index) Has(key string) bool { return ix.lookup(key) != nil }

// Put stores e, replacing the entry with its key, which it returns.
func (ix *s3Index) Put(e *s3Entry) (s3Entry, bool) {
	ix.addSegment(e.seg)
	slot := s3Slot{s3Loc: e.s3Loc, seg: uint32(e.seg.num), hashed: e.hashed}
	if len(ix.blocks) == 0 {
		bl := &s3Block{slots: make([]s3Slot, 0, s3BlockMax)}
		slot.koff, slot.klen = s3AddKey(bl, e.key)
		bl.slots = append(bl.slots, slot)
		ix.blocks, ix.n = append(ix.blocks, bl), 1
		return s3Entry{}, false
	}
	i := ix.find(e.key)
	bl := ix.blocks[i]
	j, found := bl.search(e.key)
	if found {
		old := ix.entry(e.key, &bl.slots[j])
		slot.koff, slot.klen = bl.slots[j].koff, bl.slots[j].klen
		bl.slots[j] = slot
		return old, true
	}
	slot.koff, slot.klen = s3AddKey(bl, e.key)
	bl.slots = slices.Insert(bl.slots, j, slot)
	ix.n++
	if len(bl.slots) == s3BlockMax {
		// Split in half; keys put in ascending order (a counter, a time)
		// fill the last block from its end, so that one is split where
		// the key went, leaving the blocks before it full.
		at := s3BlockMax / 2
		if i == len(ix.blocks)-1 && j == s3BlockMax-1 {
			at = s3BlockMax - 1
		}
		right := bl.packed(bl.slots[at:])
		bl.repack(at)
		ix.blocks = slices.Insert(ix.blocks, i+1, right)
	}
	return s3Entry{}, false
}

// Delete removes key, and returns its entry.
func (ix *s3Index) Delete(key string) (s3Entry, bool) {
	if len(ix.blocks) == 0 {
		return s3Entry{}, false
	}
	i := ix.find(key)
	bl := ix.blocks[i]
	j, found := bl.search(key)
	if !found {
		return s3Entry{}, false
	}
	old := ix.entry(key, &bl.slots[j])
	bl.dead += int(bl.slots[j].klen)
	bl.slots = slices.Delete(bl.slots, j, j+1)
	ix.n--
	switch {
	case len(bl.slots) == 0:
		ix.blocks = slices.Delete(ix.blocks, i, i+1)
	case len(bl.slots) < s3BlockMin:
		ix.merge(i)
	case bl.dead > len(bl.keys)/2:
		bl.repack(len(bl.slots))
	}
	return old, true
}

// merge joins the small block i with a neighbour, if the two fill at most
// three quarters of a block (so that the next inserts do not split it
// again), or else packs its keys.
func (ix *s3Index) merge(i int) {
	bl := ix.blocks[i]
	for _, k := range []int{i + 1, i - 1} {
		if k < 0 || k >= len(ix.blocks) {
			continue
		}
		other := ix.blocks[k]
		if len(bl.slots)+len(other.slots) > s3BlockMax*3/4 {
			continue
		}
		first, second := min(i, k), max(i, k)
		a, b := ix.blocks[first], ix.blocks[second]
		a.repack(len(a.slots))
		a.take(b, b.slots)
		ix.blocks = slices.Delete(ix.blocks, second, second+1)
		return
	}
	if bl.dead > len(bl.keys)/2 {
		bl.repack(len(bl.slots))
	}
}

// Clear removes every entry.
func (ix *s3Index) Clear() {
	ix.blocks, ix.n, ix.segs = nil, 0, nil
}

// Ascend calls fn on every entry whose key is at least from, in key order,
// until it returns false. The entry is fn's to keep.
func (ix *s3Index) Ascend(from string, fn func(e *s3Entry) bool) {
	if len(ix.blocks) == 0 {
		return
	}
	i := ix.find(from)
	j, _ := ix.blocks[i].search(from)
	for ; i < len(ix.blocks); i, j = i+1, 0 {
		bl := ix.blocks[i]
		for ; j < len(bl.slots); j++ {
			e := ix.entry(string(bl.key(j)), &bl.slots[j])
			if !fn(&e) {
				return
			}
		}
	}
}

// SetDigest gives key's entry its ETag digest, if the entry is still the
// record at of seg and has none yet.
func (ix *s3Index) SetDigest(key string, seg *s3Segment, at int64, md5 [16]byte, parts uint32) {
	if s := ix.lookup(key); s != nil && s.seg == uint32(seg.num) && s.at == at && !s.hashed {
		s.md5, s.parts, s.hashed = md5, parts, true
	}
}

// Relocate points every entry at g, where compaction copied their records
// in key order from offset at on.
func (ix *s3Index) Relocate(g *s3Segment, at int64) {
	for _, bl := range ix.blocks {
		for j := range bl.slots {
			s := &bl.slots[j]
			s.seg, s.at = uint32(g.num), at
			at += s.recordSize()
		}
	}
	ix.segs = []*s3Segment{g}
}
