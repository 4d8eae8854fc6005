// Package storage holds the service's SQLite helpers: queries over many
// keys in bounded chunks, and a shuffle driven by crypto/rand for random
// layouts.
package storage
