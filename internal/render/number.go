package render

import "strconv"

// integer is the set of types Comma formats.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Comma formats n in decimal with a comma between groups of three digits:
// 1234567 is "1,234,567", -1234 is "-1,234".
func Comma[T integer](n T) string {
	if n < 0 {
		// -(n+1) does not overflow for the most negative n.
		return "-" + group(strconv.FormatUint(uint64(-(n+1))+1, 10))
	}
	return group(strconv.FormatUint(uint64(n), 10))
}

// group puts commas between the groups of three digits of s.
func group(s string) string {
	if len(s) <= 3 {
		return s
	}
	b := make([]byte, 0, len(s)+(len(s)-1)/3)
	pre := len(s) % 3
	if pre == 0 {
		pre = 3
	}
	b = append(b, s[:pre]...)
	for i := pre; i < len(s); i += 3 {
		b = append(b, ',')
		b = append(b, s[i:i+3]...)
	}
	return string(b)
}

// Bytes formats a byte count in decimal (SI) units with one decimal, as
// traffic is counted: 999 B, 1.5 kB, 2.0 MB, up to PB.
func Bytes(n uint64) string {
	return size(n, 1000, []string{"kB", "MB", "GB", "TB", "PB"})
}

// IBytes formats a byte count in binary (IEC) units with one decimal, as
// file sizes are counted: 1023 B, 1.5 KiB, 2.0 MiB, up to PiB.
func IBytes(n uint64) string {
	return size(n, 1024, []string{"KiB", "MiB", "GiB", "TiB", "PiB"})
}

// size formats n in units of unit, the last unit taking all that is left.
func size(n, unit uint64, units []string) string {
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/float64(unit), 0
	for v >= float64(unit) && i < len(units)-1 {
		v /= float64(unit)
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// Percent formats p, a percentage, with one decimal: 12.345 is "12.3%".
func Percent(p float64) string {
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
