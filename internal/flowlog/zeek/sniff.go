package zeek

import "bytes"

// SniffTSV reports whether head, the first bytes of an input, looks like a
// Zeek TSV log: it starts with a #separator or #fields header line.
func SniffTSV(head []byte) bool {
	return bytes.HasPrefix(head, []byte("#separator ")) || bytes.HasPrefix(head, []byte("#fields"))
}

// SniffJSON reports whether head, the first bytes of an input, looks like a
// Zeek JSON log: its first line is an object with Zeek's "_path" or
// "id.orig_h" key, or with "ts" and "uid" or "id" keys as every Zeek log
// has.
func SniffJSON(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	has := func(key string) bool { return bytes.Contains(line, []byte(`"`+key+`":`)) }
	return has("id.orig_h") || has("_path") || has("ts") && (has("uid") || has("id"))
}
