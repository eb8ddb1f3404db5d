package render_test

import (
	"fmt"
	"os"

	"github.com/sovmap/sovmap/internal/render"
)

func Example() {
	fmt.Println(render.Safe(`JSC "Ukrtelecom"`))
	fmt.Println(render.Safe("Hua\x1b[31mwei"))
	fmt.Println(render.Quote("华为"))
	fmt.Println(render.Clip("a long provider name", 9))
	fmt.Println(render.Comma(1234567), render.Bytes(1536), render.IBytes(1536))
	render.Fprintf(os.Stdout, "%-8s %s\n", "AS4134", "Chinanet\u202e")
	// Output:
	// JSC "Ukrtelecom"
	// "Hua\x1b[31mwei"
	// "华为"
	// a long...
	// 1,234,567 1.5 kB 1.5 KiB
	// AS4134   "Chinanet\u202e"
}
