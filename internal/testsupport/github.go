package testsupport

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"songcommons/config"
)

// What the fake GitHub says of its user, besides the id: none of it may be
// stored or returned by the service.
const (
	GitHubAccessToken = "gho_fakeAccessToken0123456789SECRET"
	GitHubLogin       = "octolisten"
	GitHubName        = "Octavia Listener"
	GitHubEmail       = "octavia@mail.example"
	GitHubClientID    = "test-client-id"
)

// FakeGitHub serves GitHub's OAuth2 endpoints on 127.0.0.1: the browser's
// authorize page (it redirects back at once with the code "good-code"),
// the token exchange and the user profile, and counts the calls a
// privacy-minded client must never make (e-mail addresses, avatars).
// The code "good-code" signs in as the user it was made for; a code
// "gh-<id>" signs in as GitHub user <id>.
type FakeGitHub struct {
	srv                       *httptest.Server
	AuthorizeHits, TokenCalls atomic.Int32
	EmailCalls, AvatarHits    atomic.Int32
	LastRedirect              atomic.Value // the redirect_uri of the last authorize request
}

// NewFakeGitHub starts a fake GitHub whose user has the given id, closed
// when the test ends.
func NewFakeGitHub(t testing.TB, id int64) *FakeGitHub {
	f := &FakeGitHub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		f.AuthorizeHits.Add(1)
		q := r.URL.Query()
		redirect, state := q.Get("redirect_uri"), q.Get("state")
		if q.Get("client_id") != GitHubClientID || redirect == "" || state == "" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		f.LastRedirect.Store(redirect)
		http.Redirect(w, r, redirect+"?code=good-code&state="+url.QueryEscape(state), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		f.TokenCalls.Add(1)
		_ = r.ParseForm()
		if c := r.Form.Get("code"); strings.HasPrefix(c, "gh-") { // "gh-<id>": signs in as GitHub user <id>
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"gho_` + strings.TrimPrefix(c, "gh-") + `","token_type":"bearer","scope":""}`))
			return
		}
		if r.Form.Get("code") != "good-code" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + GitHubAccessToken + `","token_type":"bearer","scope":""}`))
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if other, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer gho_"); ok && other != strings.TrimPrefix(GitHubAccessToken, "gho_") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":` + other + `}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+GitHubAccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "login": GitHubLogin, "name": GitHubName, "email": GitHubEmail,
			"avatar_url": f.srv.URL + "/avatars/u/" + GitHubLogin + ".png", "html_url": "https://github.com/" + GitHubLogin,
		})
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		f.EmailCalls.Add(1)
		_, _ = w.Write([]byte(`[{"email":"` + GitHubEmail + `","verified":true,"primary":true}]`))
	})
	mux.HandleFunc("/avatars/", func(w http.ResponseWriter, r *http.Request) {
		f.AvatarHits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's base URL.
func (f *FakeGitHub) URL() string { return f.srv.URL }

// Configure points a configuration's GitHub sign-in at the fake.
func (f *FakeGitHub) Configure(c *config.Config) {
	c.GitHubClientID = GitHubClientID
	c.GitHubClientSecret = "test-client-secret"
	c.GitHubAuthURL = f.srv.URL + "/login/oauth/authorize"
	c.GitHubTokenURL = f.srv.URL + "/login/oauth/access_token"
	c.GitHubUserInfoURL = f.srv.URL + "/user"
}
