package availability

import "hash/maphash"

// A pathIndex finds an object by path in O(1): an open-addressing hash
// table of object numbers (plus one; 0 is empty), at most half full.
type pathIndex struct {
	seed  maphash.Seed
	slots []uint32
	mask  uint64
}

func newPathIndex(paths []string) pathIndex {
	size := 1
	for size < 2*len(paths) {
		size <<= 1
	}
	ix := pathIndex{seed: maphash.MakeSeed(), slots: make([]uint32, size), mask: uint64(size - 1)}
	for i, p := range paths {
		j := maphash.String(ix.seed, p) & ix.mask
		for ix.slots[j] != 0 {
			j = (j + 1) & ix.mask
		}
		ix.slots[j] = uint32(i + 1)
	}
	return ix
}

// find returns the number of the object at p in paths, or -1.
func (ix *pathIndex) find(paths []string, p string) int {
	if len(ix.slots) == 0 {
		return -1
	}
	for j := maphash.String(ix.seed, p) & ix.mask; ; j = (j + 1) & ix.mask {
		v := ix.slots[j]
		if v == 0 {
			return -1
		}
		if paths[v-1] == p {
			return int(v - 1)
		}
	}
}
