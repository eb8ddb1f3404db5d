package update

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sovmap/sovmap/internal/fetch"
)

// An input is the content of one source, downloaded or read from a folder.
type input struct {
	src      Source
	raw      []byte // as downloaded or read; gzip-compressed when gz
	data     []byte // decompressed
	gz       bool
	path     string // the file read, with --from
	url      string // the URL downloaded (a creation log resolved)
	sha256   string // of raw
	date     string // YYYY-MM-DD of the data
	attempts int
	// missing, when set, says why there is no input though nothing failed:
	// no URL is configured, or the --from folder has no such file.
	missing string
	err     error // the download or the read failed
	notes   []string
}

// obtain downloads a source or reads it from the --from folder.
func (u *updater) obtain(ctx context.Context, src Source) *input {
	if u.opts.From != "" {
		return u.readFrom(src)
	}
	return u.download(ctx, src)
}

func (u *updater) download(ctx context.Context, src Source) *input {
	in := &input{src: src}
	if src.URL == "" {
		in.missing = "no URL configured"
		if src.configured {
			in.missing = "disabled by the configuration"
		}
		return in
	}
	in.url = src.URL
	if src.Index && strings.HasSuffix(src.URL, ".log") {
		target, err := u.resolveIndex(ctx, src.URL)
		if err != nil {
			in.err = fmt.Errorf("creation log: %w", err)
			return in
		}
		in.url = target
	}
	resp, err := u.client.Get(ctx, in.url, src.maxSize())
	if err != nil {
		in.err = err
		return in
	}
	in.raw, in.sha256, in.attempts = resp.Body, resp.SHA256, resp.Attempts
	if in.data, in.gz, err = decompress(in.raw, src.maxSize()); err != nil {
		in.err = err
		return in
	}
	if src.Checksum {
		u.checkMD5Online(ctx, in)
		if in.err != nil {
			return in
		}
	}
	in.date = dateOf(src, in.data, in.url)
	if in.date == "" && !resp.LastModified.IsZero() {
		in.date = resp.LastModified.Format("2006-01-02")
	}
	if in.date == "" {
		in.date = u.now().UTC().Format("2006-01-02")
	}
	return in
}

// resolveIndex reads a CAIDA creation log ("seqnum<TAB>timestamp<TAB>path"
// lines, comments starting with '#', newest last) and returns the URL of
// the newest file it lists. That file must be on the log's own server
// (scheme, host and port): a log that sends the download elsewhere is a
// redirect that no redirect check would see.
func (u *updater) resolveIndex(ctx context.Context, logURL string) (string, error) {
	resp, err := u.client.Get(ctx, logURL, 16<<20)
	if err != nil {
		return "", err
	}
	var last string
	for line := range strings.SplitSeq(string(resp.Body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		last = f[len(f)-1]
	}
	if last == "" {
		return "", fmt.Errorf("%s lists no file", logURL)
	}
	base, err := url.Parse(logURL)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(last)
	if err != nil {
		return "", fmt.Errorf("%s: bad path %q: %w", logURL, last, err)
	}
	target := base.ResolveReference(ref)
	if !sameOrigin(base, target) {
		return "", fmt.Errorf("%s lists %s, which is not on its server", logURL, target)
	}
	return target.String(), nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

var md5Re = regexp.MustCompile(`\b[0-9a-fA-F]{32}\b`)

// checkMD5Online compares the download with the MD5 published at its URL
// with ".md5" appended. A missing checksum file is noted, not fatal (a
// mirror may not carry it); a mismatch is an error.
func (u *updater) checkMD5Online(ctx context.Context, in *input) {
	sumURL := in.url + ".md5"
	resp, err := u.client.Get(ctx, sumURL, 64<<10)
	if err != nil {
		in.notes = append(in.notes, fmt.Sprintf("MD5 not checked: %v", err))
		return
	}
	in.err = checkMD5(in.raw, resp.Body, sumURL)
	if in.err == nil {
		in.notes = append(in.notes, "MD5 checked against "+sumURL)
	}
}

// checkMD5 compares the MD5 of data with the one in sumFile (any format
// that holds one 32-digit hex string: "MD5 (file) = …" or "…  file").
func checkMD5(data, sumFile []byte, where string) error {
	want := md5Re.Find(sumFile)
	if want == nil {
		return fmt.Errorf("%s holds no MD5", where)
	}
	got := md5.Sum(data)
	if !strings.EqualFold(hex.EncodeToString(got[:]), string(want)) {
		return fmt.Errorf("MD5 mismatch: the file's is %x, %s says %s", got, where, want)
	}
	return nil
}

func (u *updater) readFrom(src Source) *input {
	in := &input{src: src}
	path, ok := findFile(u.opts.From, src)
	if !ok {
		in.missing = fmt.Sprintf("no %s in %s", src.File, u.opts.From)
		return in
	}
	in.path = path
	fi, err := os.Stat(path)
	if err != nil {
		in.err = err
		return in
	}
	if fi.Size() > src.maxSize() {
		in.err = fmt.Errorf("%s: %d bytes, more than the limit of %d", path, fi.Size(), src.maxSize())
		return in
	}
	if in.raw, err = os.ReadFile(path); err != nil {
		in.err = err
		return in
	}
	sum := sha256.Sum256(in.raw)
	in.sha256 = hex.EncodeToString(sum[:])
	if in.data, in.gz, err = decompress(in.raw, src.maxSize()); err != nil {
		in.err = fmt.Errorf("%s: %w", path, err)
		return in
	}
	if sumFile, err := os.ReadFile(path + ".md5"); err == nil {
		if in.err = checkMD5(in.raw, sumFile, path+".md5"); in.err != nil {
			return in
		}
		in.notes = append(in.notes, "MD5 checked against "+path+".md5")
	}
	in.date = dateOf(src, in.data, path)
	if in.date == "" {
		in.date = fi.ModTime().UTC().Format("2006-01-02")
	}
	return in
}

// findFile looks for a source's file in dir: its File, File.gz, then the
// last match of its Alt patterns.
func findFile(dir string, src Source) (string, bool) {
	for _, name := range []string{src.File, src.File + ".gz"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	for _, pat := range src.Alt {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		var files []string
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".md5") {
				files = append(files, p)
			}
		}
		if len(files) > 0 {
			sort.Strings(files)
			return files[len(files)-1], true
		}
	}
	return "", false
}

// dateOf is the date of a source's data: the one the file states, else the
// one in its name or URL.
func dateOf(src Source, data []byte, name string) string {
	if src.date != nil {
		if d := src.date(data); d != "" {
			return d
		}
	}
	return nameDate(name)
}

var errGzipTooLarge = errors.New("decompressed content larger than the limit")

// decompress returns data itself, or its decompressed content when it is
// gzip-compressed (by its magic number), at most limit bytes.
func decompress(data []byte, limit int64) ([]byte, bool, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %w", err)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %w", err)
	}
	if n > limit {
		return nil, true, fmt.Errorf("%w (%d bytes)", errGzipTooLarge, limit)
	}
	return buf.Bytes(), true, nil
}

// newClient returns c, or a default client when c is nil.
func newClient(c *fetch.Client, version string) *fetch.Client {
	if c != nil {
		return c
	}
	return &fetch.Client{UserAgent: "sovmap/" + version + " (data update; +https://github.com/sovmap/sovmap)"}
}
