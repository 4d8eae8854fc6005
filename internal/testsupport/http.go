package testsupport

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Call sends a JSON request (body as JSON, none when nil) with an auth
// token (none when "") and decodes the JSON answer.
func Call(t testing.TB, srv *httptest.Server, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	return CallWithHeader(t, srv, method, path, token, body, "", "")
}

// CallWithHeader is Call with one more request header (none when hk is "").
func CallWithHeader(t testing.TB, srv *httptest.Server, method, path, token string, body any, hk, hv string) (int, map[string]any) {
	t.Helper()
	var header []string
	if hk != "" {
		header = []string{hk, hv}
	}
	code, b, _ := Request(t, srv, method, path, token, body, header...)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return code, out
}

// Request sends a request (body as JSON, none when nil; an auth token,
// none when ""; header names and values in pairs) and returns the status,
// the answer's body and its headers.
func Request(t testing.TB, srv *httptest.Server, method, path, token string, body any, header ...string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = strings.NewReader(JSON(body))
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b, res.Header
}

// JSON is v as JSON.
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Contribute posts songs to base's /api/songcommons/contribute with a
// token, through a plain HTTP client (the server may be another process,
// or going down): the status and the ids of the rows stored (score rows,
// then embedding rows), or the transport's error.
func Contribute(base, token string, songs []map[string]any) (status int, score, embedding []string, err error) {
	req, err := http.NewRequest(http.MethodPost, base+"/api/songcommons/contribute", strings.NewReader(JSON(map[string]any{"songs": songs})))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	var out struct {
		Score     []string `json:"score"`
		Embedding []string `json:"embedding"`
	}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return res.StatusCode, nil, nil, err
		}
	}
	return res.StatusCode, out.Score, out.Embedding, nil
}
