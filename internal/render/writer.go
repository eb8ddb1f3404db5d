package render

import "io"

// A CountWriter passes writes on to W and counts the bytes written, so that
// a command can report how much it wrote (with [IBytes], say) without
// asking the file afterwards.
type CountWriter struct {
	W io.Writer
	N int64 // bytes written to W so far
}

// Write writes b to W and adds the bytes written to N.
func (c *CountWriter) Write(b []byte) (int, error) {
	n, err := c.W.Write(b)
	c.N += int64(n)
	return n, err
}
