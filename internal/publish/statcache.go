package publish

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// The stat cache remembers, for each file the last publish hashed, its size,
// modification and change times, inode and SHA-256, so that a publish of an
// unchanged tree reads no file contents. It is a cache: a damaged or missing
// one only costs re-hashing. Its file, .pando/local/statcache, has a header
// line "pando statcache v1 <written-unix-nanos>" and then one line per file:
//
//	<size> <mtime-ns> <ctime-ns> <inode> <sha256-hex> <path>
//
// where path is the rest of the line. An entry whose mtime or ctime is not
// older than the cache's own write time is not trusted (a file changed within
// the same clock tick as the cache was written would look unchanged).
type statCache struct {
	written int64
	entries map[string]fileStat
}

const statCacheHeader = "pando statcache v1 "

func loadStatCache(name string) (*statCache, error) {
	c := &statCache{entries: make(map[string]fileStat)}
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	if !sc.Scan() || !bytes.HasPrefix(sc.Bytes(), []byte(statCacheHeader)) {
		return c, fmt.Errorf("%s: not a stat cache", name)
	}
	if c.written, err = strconv.ParseInt(string(sc.Bytes()[len(statCacheHeader):]), 10, 64); err != nil {
		return c, fmt.Errorf("%s: bad header", name)
	}
	for line := 2; sc.Scan(); line++ {
		p, st, err := parseStatLine(sc.Bytes())
		if err != nil {
			return &statCache{entries: map[string]fileStat{}}, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		c.entries[p] = st
	}
	return c, sc.Err()
}

func parseStatLine(b []byte) (string, fileStat, error) {
	var st fileStat
	f := bytes.SplitN(b, []byte{' '}, 6)
	if len(f) != 6 {
		return "", st, fmt.Errorf("want 6 fields")
	}
	var nums [4]int64
	for i := range nums {
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return "", st, err
		}
		nums[i] = n
	}
	st.Size, st.MTime, st.CTime, st.Inode = nums[0], nums[1], nums[2], uint64(nums[3])
	if n, err := hex.Decode(st.SHA256[:], f[4]); err != nil || n != 32 {
		return "", st, fmt.Errorf("bad sha256")
	}
	return string(f[5]), st, nil
}

// lookup returns the cached hash for a file if its stat is unchanged.
func (c *statCache) lookup(p string, st fileStat) ([32]byte, bool) {
	e, ok := c.entries[p]
	if !ok || e.Size != st.Size || e.MTime != st.MTime || e.CTime != st.CTime || e.Inode != st.Inode {
		return [32]byte{}, false
	}
	if st.MTime >= c.written || st.CTime >= c.written {
		return [32]byte{}, false
	}
	return e.SHA256, true
}

func saveStatCache(name string, written int64, files []scanned) error {
	return safefile.Write(name, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		fmt.Fprintf(bw, "%s%d\n", statCacheHeader, written)
		var b []byte
		for _, s := range files {
			if s.kind == journal.File {
				b = b[:0]
				b = strconv.AppendInt(b, s.stat.Size, 10)
				b = append(b, ' ')
				b = strconv.AppendInt(b, s.stat.MTime, 10)
				b = append(b, ' ')
				b = strconv.AppendInt(b, s.stat.CTime, 10)
				b = append(b, ' ')
				b = strconv.AppendUint(b, s.stat.Inode, 10)
				b = append(b, ' ')
				b = hex.AppendEncode(b, s.stat.SHA256[:])
				b = append(b, ' ')
				b = append(b, s.path...)
				b = append(b, '\n')
				bw.Write(b)
			}
		}
		return bw.Flush()
	})
}
