package contribute

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
	"songcommons/fingerprint"
	"songcommons/songdata"
	"songcommons/songprint"
)

// How a contribution's song is decided (README, "How a song is
// identified"):
//
//  1. With an audio fingerprint, the songs whose fingerprint it matches
//     (fingerprint.DefaultParams: ≥ 80% agreeing bits over ≥ 20 s, shifts
//     up to ±10 s, durations within 7 s), among the dataset's and the
//     upload's own: one match, and the contribution joins that song
//     whatever its tags say; its tags become an alias of the song.
//  2. No match: the song of its tags, unless that song's fingerprint is of
//     another recording (a live take, an edit of another length): then a
//     song of its own, under the tags' key and a part made from the
//     fingerprint.
//  3. More than one match: none is picked. The contribution stays with
//     its tags (as in 2) and the answer lists the candidates.
//  4. Without a fingerprint: the song of its tags; when no song has those
//     tags as its key but exactly one song has them as an alias, that song.

// Matched-by values of a Resolution.
const (
	ByFingerprint = "fingerprint"
	ByTags        = "tags"
	ByAlias       = "alias"
	ByDump        = "dump" // import: the song its dump line gives
)

// Resolution says which song a contribution was filed under, and why.
type Resolution struct {
	SongKey string `json:"song_key"`
	// MatchedBy is "fingerprint" (its audio matched the song's), "tags"
	// (its artist and title), "alias" (its artist and title are
	// another contribution's that joined the song by fingerprint), or, on
	// import, "dump" (the song its dump line gives).
	MatchedBy string `json:"matched_by"`
	// Score and Overlap say how well the fingerprint matched.
	Score   float64 `json:"score,omitempty"`
	Overlap float64 `json:"overlap,omitempty"`
	// NewRecording is set when the tags are another song's whose
	// fingerprint is of a different recording.
	NewRecording bool `json:"new_recording,omitempty"`
	// Candidates are the songs an ambiguous fingerprint matched.
	Candidates []songprint.Match `json:"candidates,omitempty"`
}

// Resolve decides the song of each contribution (see above) and files its
// rows under it (songdata.Contribution.SetSongKey). It reads committed
// rows and the fingerprint index; it writes nothing.
func (w *Writer) Resolve(songs []songdata.Contribution) ([]Resolution, error) {
	app := w.app
	out := make([]Resolution, len(songs))
	var qs []fingerprint.Query
	var qi []int
	for i := range songs {
		c := &songs[i]
		id := c.Identity()
		if id == nil {
			continue
		}
		if c.Song != "" { // a dump's row, filed where it was
			c.SetSongKey(c.Song)
			out[i] = Resolution{SongKey: c.Song, MatchedBy: ByDump}
			continue
		}
		out[i] = Resolution{SongKey: id.SongKey, MatchedBy: ByTags}
		if c.Fingerprint != nil {
			qs = append(qs, fingerprint.Query{Fingerprint: c.Fingerprint, Duration: id.Duration})
			qi = append(qi, i)
		}
	}
	if len(qs) == 0 {
		return out, w.resolveAliases(app, songs, out, nil)
	}
	var found [][]songprint.Match
	if w.prints != nil {
		var err error
		if found, err = w.prints.Lookup(app, qs); err != nil {
			return nil, err
		}
	} else {
		found = make([][]songprint.Match, len(qs))
	}
	params := fingerprint.DefaultParams()
	// the stored fingerprints of the songs of the tags of those without a
	// single match, read at once (is the song of their tags another
	// recording?)
	var tagKeys []string
	for n, i := range qi {
		if len(found[n]) != 1 {
			tagKeys = append(tagKeys, out[i].SongKey)
		}
	}
	stored, err := songprint.Stored(app, tagKeys)
	if err != nil {
		return nil, err
	}
	// the upload's own new songs: a later contribution of the same
	// recording under other tags joins the first
	local := &localSongs{store: fingerprint.NewMemStore(), keys: map[int64]string{}, durations: map[int64]float64{}}
	localIx := fingerprint.New(local.store, fingerprint.Options{ExpectedSongs: 1024})
	for n, i := range qi {
		c := &songs[i]
		q := qs[n]
		tags := out[i].SongKey
		ms := slices.Clone(found[n])
		lm, err := localIx.Lookup(q.Fingerprint, q.Duration)
		if err != nil {
			return nil, err
		}
		for _, m := range lm {
			k := local.keys[m.ID]
			if !slices.ContainsFunc(ms, func(x songprint.Match) bool { return x.SongKey == k }) {
				ms = append(ms, songprint.Match{SongKey: k, Similarity: m.Similarity})
			}
		}
		slices.SortStableFunc(ms, func(a, b songprint.Match) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		r := &out[i]
		if len(ms) == 1 {
			best := ms[0].Rounded()
			r.SongKey, r.MatchedBy, r.Score, r.Overlap = ms[0].SongKey, ByFingerprint, best.Score, best.Overlap
			c.SetSongKey(r.SongKey)
			continue
		}
		if len(ms) > 1 {
			r.Candidates = ms
			for j := range r.Candidates {
				r.Candidates[j].Similarity = ms[j].Rounded()
			}
		}
		// no match, or no single one: the song of its tags, unless that
		// song's audio is another recording
		key := tags
		if otherRecording(tags, q, params, local, stored) {
			key, r.NewRecording = RecordingKey(tags, q.Fingerprint), true
		}
		r.SongKey, r.MatchedBy = key, ByTags
		c.SetSongKey(key)
		id := songprint.ID(key)
		if _, known := local.keys[id]; !known {
			if err := localIx.Add(id, q.Fingerprint, q.Duration); err == nil {
				local.store.Put(id, q.Fingerprint)
				local.keys[id], local.durations[id] = key, q.Duration
			}
		}
	}
	// the upload's own aliases: its rows without a fingerprint under
	// tags that joined a song by fingerprint earlier in it
	aliases := map[string][]string{}
	for _, i := range qi {
		if id := songs[i].Identity(); id.TagsKey != "" && !slices.Contains(aliases[id.TagsKey], id.SongKey) {
			aliases[id.TagsKey] = append(aliases[id.TagsKey], id.SongKey)
		}
	}
	return out, w.resolveAliases(app, songs, out, aliases)
}

// localSongs are the songs an upload itself makes from fingerprints, as
// its later contributions are matched against them.
type localSongs struct {
	store     *fingerprint.MemStore
	keys      map[int64]string
	durations map[int64]float64
}

// otherRecording reports whether the song of the given key has a
// fingerprint (given earlier in this upload, or stored) that q does not
// match: the same tags on another recording.
func otherRecording(key string, q fingerprint.Query, p fingerprint.Params, local *localSongs, stored map[string]songprint.Print) bool {
	id := songprint.ID(key)
	if k, ok := local.keys[id]; ok && k == key {
		fps, _ := local.store.Fingerprints([]int64{id})
		_, same := p.Match(q.Fingerprint, q.Duration, fps[0], local.durations[id])
		return !same
	}
	s, ok := stored[key]
	if !ok {
		return false // no fingerprint under these tags
	}
	_, same := p.Match(q.Fingerprint, q.Duration, s.Items, s.Duration)
	return !same
}

// RecordingKey is the song key of a recording whose tags are another
// song's: the tags' key and a part made from the fingerprint. Normalised
// artists and titles never hold the separator, so it is no tags' key.
func RecordingKey(tags string, fp []uint32) string {
	h := sha256.Sum256(fingerprint.EncodeBytes(fp, fingerprint.DefaultAlgorithm))
	return tags + songdata.SongKeySeparator + hex.EncodeToString(h[:4])
}

// resolveAliases files each contribution without a fingerprint whose
// tags' key has no song, but is the alias of exactly one song (in the
// database, or in the upload: local), under that song.
func (w *Writer) resolveAliases(app core.App, songs []songdata.Contribution, out []Resolution, local map[string][]string) error {
	var keys []string
	for i := range songs {
		if out[i].SongKey != "" && songs[i].Fingerprint == nil && songs[i].Song == "" {
			keys = append(keys, out[i].SongKey)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	aliases, err := catalog.AliasTargets(app.DB(), keys)
	if err != nil {
		return err
	}
	for k, targets := range local {
		for _, t := range targets {
			if !slices.Contains(aliases[k], t) {
				aliases[k] = append(aliases[k], t)
			}
		}
	}
	if len(aliases) == 0 {
		return nil
	}
	var aliased []string
	for k := range aliases {
		aliased = append(aliased, k)
	}
	exists, err := existingSongs(app.DB(), aliased)
	if err != nil {
		return err
	}
	for i := range songs {
		k := out[i].SongKey
		if targets := aliases[k]; len(targets) == 1 && !exists[k] && songs[i].Fingerprint == nil && songs[i].Song == "" {
			out[i].SongKey, out[i].MatchedBy = targets[0], ByAlias
			songs[i].SetSongKey(targets[0])
		}
	}
	return nil
}
