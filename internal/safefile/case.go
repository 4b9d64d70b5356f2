package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CaseSensitive reports whether the file system holding the existing file
// name tells its name from the same name in upper case. On one that does
// not (macOS's default APFS, FAT, NTFS as Windows mounts it), the two are
// one file, and a tree whose paths differ only in case cannot be kept
// there. The base of name must hold a lower-case letter.
func CaseSensitive(name string) (bool, error) {
	upper := filepath.Join(filepath.Dir(name), strings.ToUpper(filepath.Base(name)))
	if upper == filepath.Clean(name) {
		return false, fmt.Errorf("case check of %s: no lower-case letter in its name", name)
	}
	fi, err := os.Lstat(name)
	if err != nil {
		return false, err
	}
	ui, err := os.Lstat(upper)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, err
	}
	return !os.SameFile(fi, ui), nil
}
