package hooks

import "songcommons/storage"

// shuffle is storage.Shuffle: the layout frees its scratch rows in a
// random order.
func shuffle[T any](s []T) { storage.Shuffle(s) }
