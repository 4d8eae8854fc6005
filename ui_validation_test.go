package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"songcommons/songdata"

	"github.com/chromedp/chromedp"
)

// TestUIValidation checks the contribute page's file reading and its
// checks before sending (pb_public/assets/parse.js) in the browser: the
// formats it reads, and that it rejects exactly the fields the server
// rejects (songdata.CheckSongs) for the same songs.
func TestUIValidation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx := newBrowser(t, ctx)
	_, srv := newUIServer(t)
	p := &page{t: t, ctx: bctx}
	p.nav(srv.URL + "/contribute.html")
	p.wait("the page", `document.body.dataset.ready === 'true'`)

	run := func(js string) string {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		out, err := chromedp.Run(c, chromedp.Evaluate[string](
			`import('/assets/parse.js').then((m) => JSON.stringify((`+js+`)(m)))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}

	t.Run("client checks match the server's", func(t *testing.T) {
		vec := func(n int, v float64) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = v + float64(i)/1000
			}
			return out
		}
		ok := map[string]any{"artist": "A", "title": "T", "tempo": 120.0, "key": "A", "scale": "minor"}
		with := func(kv ...any) map[string]any {
			m := map[string]any{}
			for k, v := range ok {
				m[k] = v
			}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(m, kv[i].(string))
				} else {
					m[kv[i].(string)] = kv[i+1]
				}
			}
			return m
		}
		vecJSON, _ := json.Marshal(vec(200, 0.1))
		cases := []map[string]any{
			with(),
			with("mood_vector", "Rock:0.5,pop:0.2", "energy", 0.7, "other_features", "danceable:0.9", "album", "X", "duration", 215.4, "analyzer", "audiomuse-ai/0.7"),
			with("tempo", 0.0),
			with("tempo", 400.5),
			with("tempo", 400.0),
			with("tempo", "120"),
			with("tempo", nil),
			with("key", "H"),
			with("key", "Db"),
			with("key", "c#"),
			with("key", " "),
			with("scale", "Major"),
			with("scale", "dorian"),
			with("scale", nil),
			with("artist", nil),
			with("title", "   "),
			with("title", "a\tb"),
			with("artist", strings.Repeat("x", 513)),
			with("artist", strings.Repeat("é", 512)),
			with("analyzer", strings.Repeat("x", 129)),
			with("mood_vector", "rock:1.5"),
			with("mood_vector", "rock:0.5,rock:0.2"),
			with("mood_vector", "rock"),
			with("mood_vector", "Mellow:0.5,Hip-Hop:0.4,Progressive rock:0.3,LoFi Beats:0.2"),
			with("mood_vector", "Mellow:0.5,mellow:0.2"),
			with("other_features", "bad label!:0.3"),
			with("other_features", strings.Repeat("x", 33)+":0.3"),
			with("energy", -1.0),
			with("energy", 0.0),
			with("duration", -5.0),
			with("duration", 0.0),
			with("mbid", "5B11F4CE-A62D-471E-81FC-A69A8278C7DA"),
			with("mbid", "not-a-uuid"),
			with("isrc", "us-rc1-76-07839"),
			with("isrc", "XX"),
			with("genre", "house"),
			{"artist": "A", "title": "T"},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"musicnn": vec(200, 0.1)}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"musicnn": string(vecJSON)}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"musicnn": vec(199, 0.1)}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"clap": vec(512, 0.1)}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"foo": vec(200, 0.1)}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"musicnn": vec(200, 0)[:0]}},
			{"artist": "A", "title": "T", "embeddings": map[string]any{"musicnn": make([]float64, 200)}},
			{"artist": "A", "title": "T", "embeddings": "musicnn"},
			{"title": "T", "embeddings": map[string]any{"musicnn": vec(200, 0.1)}},
			with("embeddings", map[string]any{"musicnn": vec(200, 0.1), "clap": vec(500, 0.1)}),
		}
		// round-trip through JSON, as a request body would be decoded
		raw, _ := json.Marshal(cases)
		var decoded []map[string]any
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatal(err)
		}
		var client [][]string
		if err := json.Unmarshal([]byte(run(fmt.Sprintf(`(m) => %s.map((s) => m.checkSong(s).map((e) => e.field).sort())`, raw))), &client); err != nil {
			t.Fatal(err)
		}
		if len(client) != len(decoded) {
			t.Fatalf("the page checked %d songs of %d", len(client), len(decoded))
		}
		rejected := 0
		for i, c := range decoded {
			_, errs := songdata.CheckSongs([]map[string]any{c}, "songs.")
			if len(errs) > 0 {
				rejected++
			}
			server := []string{}
			for k := range errs {
				server = append(server, strings.TrimPrefix(k, "songs.0."))
			}
			sort.Strings(server)
			if !slices.Equal(server, client[i]) {
				short, _ := json.Marshal(c)
				if len(short) > 160 {
					short = append(short[:160], "…"...)
				}
				t.Errorf("case %d %s: server rejects %v, the page rejects %v", i, short, server, client[i])
			}
		}
		if rejected < 25 || rejected == len(decoded) {
			t.Errorf("%d of %d cases rejected: the cases do not test both sides", rejected, len(decoded))
		}
	})

	t.Run("file formats", func(t *testing.T) {
		emb := make([]string, 200)
		for i := range emb {
			emb[i] = fmt.Sprintf("0.%03d", i+1)
		}
		embJSON := "[" + strings.Join(emb, ",") + "]"
		files := map[string]string{
			"lib.csv": "artist,title,tempo,key,scale,mood_vector,energy\r\n" +
				`"Daft Punk","One, More Time",122.9,F#,minor,"house:0.71,electronic:0.55",0.61` + "\r\n" +
				"Air,La Femme d'Argent,92,A,minor,,\r\n" +
				"Air,Broken,fast,A,minor,,\r\n" +
				"'+Plus,''=quoted,100,C,major,'-dark:0.5,\r\n",
			"audiomuse.json": `[{"item_id":"x1","author":"Air","title":"Talisman","tempo":98,"key":"Bb","scale":"minor","mood_vector":"ambient:0.6","energy":0.2,"other_features":"relaxed:0.8","embedding":` + jsonQuote(embJSON) + `}]`,
			"client.json":    `{"songs":[{"artist":"A","title":"T","tempo":100,"key":"C","scale":"major","embeddings":{"musicnn":` + embJSON + `}}]}`,
			"export.jsonl": `{"id":"abc","song_key":"a|t","artist":"A","title":"T","tempo":100,"key":"C","scale":"major"}` + "\n" +
				"\n" +
				`{"artist":"A","title":"T","model":"musicnn","embedding":` + embJSON + `}` + "\n" +
				`{"artist":"A","title":"T2","tempo":100,` + "\n" +
				`{"artist":"A","title":"T3","embedding":[0.1,0.2]}` + "\n",
		}
		type row struct {
			Label  string         `json:"label"`
			Song   map[string]any `json:"song"`
			Errors []struct{ Field, Message string }
		}
		type result struct {
			Format     string   `json:"format"`
			FileErrors []string `json:"fileErrors"`
			Rows       []row    `json:"rows"`
		}
		parse := func(name string) result {
			var r result
			out := run(fmt.Sprintf(`(m) => m.parseUpload(%s, %s)`, jsonQuote(files[name]), jsonQuote(name)))
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return r
		}

		csv := parse("lib.csv")
		if csv.Format != "CSV" || len(csv.Rows) != 4 || len(csv.FileErrors) != 0 {
			t.Fatalf("csv: %+v", csv)
		}
		if r := csv.Rows[0]; len(r.Errors) != 0 || r.Song["title"] != "One, More Time" || r.Song["tempo"] != 122.9 || r.Song["mood_vector"] != "house:0.71,electronic:0.55" || r.Label != "line 2" {
			t.Errorf("csv row 1: %+v", r)
		}
		if r := csv.Rows[1]; len(r.Errors) != 0 || r.Song["mood_vector"] != nil || r.Song["energy"] != nil {
			t.Errorf("csv row 2 (empty cells are left out): %+v", r)
		}
		if r := csv.Rows[2]; len(r.Errors) != 1 || r.Errors[0].Field != "tempo" || r.Label != "line 4" {
			t.Errorf("csv row 3: %+v", r)
		}
		// the quote a CSV export puts before formulas (and before a leading quote) is removed
		if r := csv.Rows[3]; len(r.Errors) != 0 || r.Song["artist"] != "+Plus" || r.Song["title"] != "'=quoted" || r.Song["mood_vector"] != "-dark:0.5" {
			t.Errorf("csv row 4: %+v", r)
		}

		am := parse("audiomuse.json")
		if am.Format != "JSON" || len(am.Rows) != 1 || len(am.Rows[0].Errors) != 0 {
			t.Fatalf("audiomuse: %+v", am)
		}
		s := am.Rows[0].Song
		embs, _ := s["embeddings"].(map[string]any)
		if v, _ := embs["musicnn"].([]any); s["artist"] != "Air" || len(v) != 200 || s["item_id"] != nil || s["embedding"] != nil {
			t.Errorf("audiomuse song: artist %v, embeddings %T, item_id %v", s["artist"], embs["musicnn"], s["item_id"])
		}

		cl := parse("client.json")
		if cl.Format != "JSON" || len(cl.Rows) != 1 || len(cl.Rows[0].Errors) != 0 {
			t.Errorf("client json: %+v", cl)
		}

		ex := parse("export.jsonl")
		if ex.Format != "JSONL" || len(ex.Rows) != 4 {
			t.Fatalf("export: %+v", ex)
		}
		if r := ex.Rows[0]; len(r.Errors) != 0 || r.Song["id"] != nil || r.Song["song_key"] != nil {
			t.Errorf("export score line: %+v", r)
		}
		if r := ex.Rows[1]; len(r.Errors) != 0 || r.Label != "line 3" || r.Song["model"] != nil {
			t.Errorf("export embedding line: %+v", r)
		}
		if r := ex.Rows[2]; len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "not valid JSON") || r.Label != "line 4" {
			t.Errorf("broken line: %+v", r)
		}
		if r := ex.Rows[3]; len(r.Errors) == 0 || r.Errors[0].Field != "model" {
			t.Errorf("2-d vector without a model: %+v", r)
		}

		// chunks: 500 songs at most per request
		var sizes []int
		if err := json.Unmarshal([]byte(run(`(m) => m.chunk(Array.from({length: 1234}, (_, i) => ({song: {artist: 'a', title: 't' + i}}))).map((c) => c.length)`)), &sizes); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, []int{500, 500, 234}) {
			t.Errorf("chunks %v", sizes)
		}
	})
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
