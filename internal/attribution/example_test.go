package attribution_test

import (
	"fmt"
	"net/netip"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/snapshot"
)

// An engine over the data embedded in sovmap, the snapshot (routes:
// prefix, origin AS, registration and location) and the catalog
// (providers, their operators and parents), attributes an address as
// "sovmap ip" does: provider, operator, ultimate parent, and the control,
// registration and location countries kept apart.
func ExampleEngine_Attribute() {
	routes, err := snapshot.Embedded()
	if err != nil {
		fmt.Println(err)
		return
	}
	cat, err := catalog.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	e := attribution.NewEngine(routes, cat, attribution.SourceLabels{ASN: "asn data"})

	r := e.Attribute(netip.MustParseAddr("47.88.1.1"))
	fmt.Printf("%s in %s, AS%d\n", r.IP, r.Prefix, r.ASN)
	fmt.Printf("provider %s, operator %s [%s], parent %s [%s]\n", r.Provider.ID, r.Operator.ID, r.Operator.Country, r.Parent.ID, r.Parent.Country)
	fmt.Printf("control %s: %s\n", r.Control.Country, r.Control.Basis)
	fmt.Printf("registration %s, location %s\n", r.Registration.Country, r.Location.Country)
	fmt.Printf("evidence %s: %s [%s]\n", r.Evidence[0].Method, r.Evidence[0].Detail, r.Evidence[0].Source)
	fmt.Printf("confidence %s\n", r.Confidence)
	// Output:
	// 47.88.1.1 in 47.88.0.0/16, AS45102
	// provider alibaba-cloud, operator alibaba-us [US], parent alibaba-group [CN]
	// control CN: ultimate parent Alibaba Group Holding Limited, headquartered in Hangzhou
	// registration US, location US
	// evidence asn: origin AS45102 listed for alibaba-cloud [asn data]
	// confidence high
}
