package update

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// SnapshotFile is the name of the snapshot in the data directory.
const SnapshotFile = "sovmap.snap"

// rawDir is the folder of the data directory that holds the last accepted
// file of each source, under the source's file name.
const rawDir = "raw"

// DefaultDataDir returns the data directory: $XDG_DATA_HOME/sovmap, or
// ~/.local/share/sovmap when XDG_DATA_HOME is unset (the XDG Base Directory
// specification).
func DefaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sovmap"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no data directory: neither XDG_DATA_HOME nor a home directory is set (use --data-dir)")
	}
	return filepath.Join(home, ".local", "share", "sovmap"), nil
}

// SnapshotPath returns the path of the snapshot in a data directory.
func SnapshotPath(dataDir string) string { return filepath.Join(dataDir, SnapshotFile) }

// WriteFileAtomic writes a file through a temporary file in the same
// folder: it writes, flushes to disk (fsync), and renames it into place,
// then syncs the folder. Readers see the old file or the new one, never a
// part of one; a failure leaves the old file as it was. The file gets mode
// 0644, what os.WriteFile(path, b, 0o644) gives under the usual umask (the
// temporary file is created 0600). It returns the number of bytes written.
//
// It is the one atomic writer of sovmap: data update writes the snapshot
// and raw files with it, and data build its -o file.
func WriteFileAtomic(path string, write func(io.Writer) error) (n int64, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	cw := &countWriter{w: f}
	if err = write(cw); err != nil {
		return 0, err
	}
	if err = f.Chmod(0o644); err != nil {
		return 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, err
	}
	if err = f.Close(); err != nil {
		return 0, err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return 0, err
	}
	// Make the rename itself durable. Some systems cannot sync a folder;
	// the file is in place either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
