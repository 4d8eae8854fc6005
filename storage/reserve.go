package storage

import "github.com/pocketbase/pocketbase/core"

// TopUpReserve refills data.db's reserve of free pages exactly as the
// service does after a contribution write (layout.go): nothing while at
// least reserveLow pages are free, otherwise up to reserveTarget pages
// freed in a random order. Exported for the reserve test and for loadgen's
// placement floor of the layout that privacy requires.
func TopUpReserve(app core.App) error { return topUpReserve(app) }
