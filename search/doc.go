// Package search finds songs by what people type: an in-memory inverted
// index over the artist, title and album of every song, keyed by song key.
//
// Its one job is to answer "which songs match these words, best first" in
// milliseconds at a million songs, so that a search box no longer scans the
// songs table on every keystroke. It does not store or return names: a
// caller reads the rows of the returned song keys.
//
// Matching. Names are folded with songdata.FoldName, exactly like the parts
// of a song key (Unicode compatibility decomposition, accents dropped, case
// folded, "&" read as "and", punctuation collapsed), then split into words.
// Every query word must match (AND) a word of the artist, title or album, as
// the whole word or as its beginning, so "velv har" finds "The Velvet Harbor"
// while the last word is still being typed. Words are matched anywhere in
// the names, in any order; a query's words after the first sixteen are
// ignored. Substrings inside words are not matched (BENCH_NOTES.md says
// why). "feat", "ft" and "featuring" in a query are optional: they rank
// songs that have them higher but filter nothing, so "Calvin Harris ft
// Rihanna" finds the song credited "(feat. Rihanna)". The credited names
// themselves are indexed like any other word.
//
// Scripts. Cyrillic, Greek, Hebrew, Arabic and other scripts written with
// spaces are words like Latin ones. Han, Hiragana, Katakana and Hangul are
// written without spaces, so a run of them is indexed as its single
// characters and its character bigrams (東京事変 → 東 京 事 変 東京 京事 事変).
// A one-character query matches names containing that character; a longer
// one matches names containing all of its bigrams (東京事 needs 東京 and
// 京事). That is substring matching with no word boundaries; because
// adjacency of the bigrams is not checked, a name holding both bigrams apart
// (東京 … 京事) also matches. CJK matches count as whole-word matches.
// Dakuten and handakuten are dropped by the folding (が matches か), as
// accents are.
//
// Ranking. Songs matching more query words as whole words come first
// (a prefix-only match ranks below), then songs with more contributions,
// then song keys in ascending byte order. Search returns one page and the
// number of matches. Counting is exact (every match is ranked anyway), but
// the total is reported only up to TotalCap, with Capped set beyond
// ("10,000+"), which is also as deep as pages go (MaxDepth).
//
// Cost. Everything lives in RAM, about 200 bytes per song at 1M songs
// (BENCH_NOTES.md), and nothing is written to disk, so no copy of the data
// directory can group songs by the upload that added them; the index is
// built from the songs table at start-up (Build: about 4 CPU-seconds at 1M
// songs). A query walks the posting lists of the terms matching its words,
// or, when one word is much rarer than the others, only that word's lists,
// checking each song's terms: a few milliseconds at 1M songs. Writes change
// the posting lists in place: a new song appends to them (microseconds), a
// removal moves the tail of each of its lists (up to a few hundred
// microseconds for words held by half the songs). An Index is safe for
// concurrent use: searches share a read lock, writes take the write lock.
//
// The package depends only on songdata (for the folding) and the standard
// library.
package search
