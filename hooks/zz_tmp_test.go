package hooks

import (
	"encoding/json"
	"testing"
	"time"

	"songcommons/internal/synth"
	"songcommons/songdata"
)

func TestTmpDedupeCost(t *testing.T) {
	first := synth.NextNew(500)
	songs := make([]map[string]any, 500)
	for i := range songs {
		s := synth.MakeSong(first+uint64(i), 0).WithPrint(first + uint64(i))
		songs[i] = s.Map([]string{"musicnn"})
	}
	b, _ := json.Marshal(map[string]any{"songs": songs})
	for range 3 {
		t0 := time.Now()
		var req contributeRequest
		json.Unmarshal(b, &req)
		t1 := time.Now()
		cs, errs := songdata.CheckSongs(req.Songs, "songs.")
		if errs != nil {
			t.Fatal(errs)
		}
		t2 := time.Now()
		u, _ := dedupeRequest(cs)
		t3 := time.Now()
		t.Logf("json %v check %v dedupe %v (%d)", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), len(u))
	}
}
