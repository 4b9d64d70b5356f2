package availability

import "hash/maphash"

// A pathIndex finds an object by path in O(1): an open-addressing hash
// table, at most half full, whose slots hold an object's number plus one
// (0 is empty) in their low 32 bits and the high 32 bits of its path's hash
// in the others, so that a probe compares a path only when the hashes
// agree.
type pathIndex struct {
	seed  maphash.Seed
	slots []uint64
	mask  uint64
}

func newPathIndex(paths []string) pathIndex {
	size := 1
	for size < 2*len(paths) {
		size <<= 1
	}
	ix := pathIndex{seed: maphash.MakeSeed(), slots: make([]uint64, size), mask: uint64(size - 1)}
	for i, p := range paths {
		h := maphash.String(ix.seed, p)
		j := h & ix.mask
		for ix.slots[j] != 0 {
			j = (j + 1) & ix.mask
		}
		ix.slots[j] = h&^(1<<32-1) | uint64(i+1)
	}
	return ix
}

// find returns the number of the object at p in paths, or -1.
func (ix *pathIndex) find(paths []string, p string) int {
	if len(ix.slots) == 0 {
		return -1
	}
	h := maphash.String(ix.seed, p)
	tag := h &^ (1<<32 - 1)
	for j := h & ix.mask; ; j = (j + 1) & ix.mask {
		v := ix.slots[j]
		if v == 0 {
			return -1
		}
		if i := int(uint32(v)) - 1; v&^(1<<32-1) == tag && paths[i] == p {
			return i
		}
	}
}
