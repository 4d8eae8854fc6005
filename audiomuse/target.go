package audiomuse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Target is the songcommons server the bridge uploads to.
type Target struct {
	Base  string // e.g. https://songcommons.example (default http://127.0.0.1:8090)
	Token string // a contributor's token, from the My data page
	HTTP  *http.Client
	Retry Retry
}

// ReceiptRow names one stored row, for a later deletion by receipt.
type ReceiptRow struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

// stored is the ids /contribute answers for one song of the request.
type stored struct {
	Score     string            `json:"score"`
	Embedding map[string]string `json:"embedding"`
}

// rows lists a song's stored rows, score first, then the models by name.
func (s stored) rows() []ReceiptRow {
	var out []ReceiptRow
	if s.Score != "" {
		out = append(out, ReceiptRow{"score", s.Score})
	}
	for _, e := range embeddingModels {
		if id := s.Embedding[e.model]; id != "" {
			out = append(out, ReceiptRow{"embedding", id})
		}
	}
	return out
}

// Rejected is a /contribute answer 400: the songs (by index in the
// request) the server refused, each with its reasons. Nothing was stored.
type Rejected struct {
	Message string
	Songs   map[int][]string
}

func (r *Rejected) Error() string { return "songcommons refused the upload: " + r.Message }

// Contribute uploads songs (at most 500) with the receipt secret and
// returns, per song in order, the rows stored for it.
func (t *Target) Contribute(ctx context.Context, songs []Song, secret string) ([][]ReceiptRow, error) {
	var out struct {
		Songs []stored `json:"songs"`
	}
	if err := t.post(ctx, "/api/songcommons/contribute", map[string]any{"songs": songs, "receipt_secret": secret}, &out); err != nil {
		return nil, err
	}
	if len(out.Songs) != len(songs) {
		return nil, fmt.Errorf("songcommons answered %d songs for %d sent", len(out.Songs), len(songs))
	}
	rows := make([][]ReceiptRow, len(songs))
	for i, s := range out.Songs {
		rows[i] = s.rows()
	}
	return rows, nil
}

// DeleteRows deletes rows stored with secret (POST /receipts/delete, at
// most 5,000 rows a request).
func (t *Target) DeleteRows(ctx context.Context, secret string, rows []ReceiptRow) error {
	for start := 0; start < len(rows); start += 5000 {
		part := rows[start:min(len(rows), start+5000)]
		if err := t.post(ctx, "/api/songcommons/receipts/delete", map[string]any{"secret": secret, "rows": part}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Lookup asks for songs (at most 1,000 identifiers: artist+title, mbid
// or isrc) with their embeddings, and returns the answers in order.
func (t *Target) Lookup(ctx context.Context, songs []map[string]string) ([]map[string]any, error) {
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := t.post(ctx, "/api/songcommons/lookup", map[string]any{"songs": songs, "embeddings": true}, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(songs) {
		return nil, fmt.Errorf("songcommons answered %d results for %d songs", len(out.Results), len(songs))
	}
	return out.Results, nil
}

// post sends body as JSON and decodes the answer into out (when not
// nil), retrying 429 and 503 after their Retry-After.
func (t *Target) post(ctx context.Context, path string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	u := strings.TrimRight(t.Base, "/") + path
	return t.Retry.do(ctx, func() (int, http.Header, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if t.Token != "" {
			req.Header.Set("Authorization", t.Token)
		}
		client := t.HTTP
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if out == nil {
				return resp.StatusCode, resp.Header, nil
			}
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				return resp.StatusCode, resp.Header, fmt.Errorf("reading songcommons' answer: %w", err)
			}
			return resp.StatusCode, resp.Header, nil
		}
		var e struct {
			Message string `json:"message"`
			Data    map[string]struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		switch resp.StatusCode {
		case http.StatusBadRequest:
			rej := &Rejected{Message: e.Message, Songs: map[int][]string{}}
			for field, d := range e.Data {
				var i int
				var rest string
				if n, _ := fmt.Sscanf(field, "songs.%d.%s", &i, &rest); n >= 1 {
					rej.Songs[i] = append(rej.Songs[i], strings.TrimSpace(rest+": "+d.Message))
				}
			}
			return resp.StatusCode, resp.Header, rej
		case http.StatusUnauthorized, http.StatusForbidden:
			return resp.StatusCode, resp.Header, fmt.Errorf("%s: %s (sign in on the songcommons site, accept the policy, and copy the token from the My data page)", resp.Status, e.Message)
		}
		return resp.StatusCode, resp.Header, fmt.Errorf("%s: %s", resp.Status, e.Message)
	})
}

// isRejected reports a 400 that names songs.
func isRejected(err error) (*Rejected, bool) {
	var r *Rejected
	if errors.As(err, &r) && len(r.Songs) > 0 {
		return r, true
	}
	return nil, false
}
