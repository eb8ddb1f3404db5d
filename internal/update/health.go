package update

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// The health guards' thresholds: a source is refused when it has fewer than
// 1/shrinkFactor of its previous ranges or addresses, more than growRanges
// times its ranges or more than growAddresses times its addresses.
const (
	shrinkFactor  = 2
	growRanges    = 5
	growAddresses = 20
)

// feedHealth returns why a feed's new ranges must not replace its previous
// ones, or nil if they may. prev is nil when the previous snapshot does not
// hold the feed.
func feedHealth(rs []attribution.FeedRange, now snapshot.Stats, prev *snapshot.Stats) []string {
	var why []string
	if now.Ranges == 0 {
		return []string{"empty: no ranges"}
	}
	if d := defaultRoute(rs); d.IsValid() {
		why = append(why, fmt.Sprintf("covers %s, the whole address family", d))
	}
	if prev == nil || prev.Ranges == 0 {
		return why
	}
	why = append(why, compare("ranges", float64(prev.Ranges), float64(now.Ranges), growRanges)...)
	why = append(why, compare("IPv4 addresses", prev.IPv4, now.IPv4, growAddresses)...)
	why = append(why, compare("IPv6 /48 blocks", prev.IPv6Slash48, now.IPv6Slash48, growAddresses)...)
	return why
}

// routingHealth returns why a routing file's records must not replace the
// previous ones; prev is 0 when the previous snapshot has no count for the
// same file.
func routingHealth(records, prev int, coversAll string) []string {
	if records == 0 {
		return []string{"empty: no records"}
	}
	var why []string
	if coversAll != "" {
		why = append(why, fmt.Sprintf("covers %s, the whole address family", coversAll))
	}
	if prev > 0 {
		why = append(why, compare("records", float64(prev), float64(records), growRanges)...)
	}
	return why
}

// compare checks a count against its previous value: shrinking below half
// or growing above grow times are refused. Counts that were 0 are not
// compared.
func compare(what string, prev, now, grow float64) []string {
	switch {
	case prev <= 0:
		return nil
	case now*shrinkFactor < prev:
		return []string{fmt.Sprintf("shrank from %s to %s %s (%s; fewer than half)", count(prev), count(now), what, percent(now, prev))}
	case now > grow*prev:
		return []string{fmt.Sprintf("grew from %s to %s %s (%.0f×; more than %.0f×)", count(prev), count(now), what, now/prev, grow)}
	}
	return nil
}

func percent(now, prev float64) string {
	return fmt.Sprintf("%+.0f%%", 100*(now-prev)/prev)
}

// count writes a count with thousands separators, and fractions of IPv6 /48
// blocks with one decimal.
func count(f float64) string {
	if f != float64(int64(f)) && f < 1e15 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	s := strconv.FormatFloat(f, 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// defaultRoute returns the first range that covers a whole address family.
func defaultRoute(rs []attribution.FeedRange) netip.Prefix {
	for _, r := range rs {
		if r.Prefix.IsValid() && r.Prefix.Bits() == 0 {
			return r.Prefix
		}
	}
	return netip.Prefix{}
}

// specialUse lists address blocks that no provider's servers can sit in:
// the IANA IPv4 and IPv6 special-purpose registries (RFC 6890) and the
// transition blocks whose addresses embed other networks' addresses (6to4,
// Teredo, NAT64). Vultr's geofeed, for one, has listed 2001:db8::/32 and
// 2002::/16 as its own.
var specialUse = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/8", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// specialBlock returns the special-use block that holds p, if any.
func specialBlock(p netip.Prefix) (netip.Prefix, bool) {
	for _, s := range specialUse {
		if s.Bits() <= p.Bits() && s.Contains(p.Addr()) {
			return s, true
		}
	}
	return netip.Prefix{}, false
}
