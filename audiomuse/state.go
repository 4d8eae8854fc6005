package audiomuse

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// State is what the bridge remembers between runs, in one folder on the
// contributor's machine (never sent anywhere): for each AudioMuse-AI
// track sent, the fp of the analysis sent and the rows it was stored as,
// and the receipt secret those rows were tagged with. With the secret and
// the rows, the contributor can delete them (POST /receipts/delete).
type State struct {
	Version int                  `json:"version"`
	From    string               `json:"from"`
	To      string               `json:"to"`
	Secret  string               `json:"receipt_secret"`
	Sent    map[string]SentTrack `json:"sent"`
	// Stale are rows of analyses sent again since, not yet deleted.
	Stale []ReceiptRow `json:"stale,omitempty"`
	// Refused are the fps of tracks that could not be sent: each is tried
	// again once it is re-analysed.
	Refused map[string]string `json:"refused,omitempty"`

	dir string
}

// SentTrack is one track sent: its fp then, and its stored rows.
type SentTrack struct {
	FP   string       `json:"fp"`
	Rows []ReceiptRow `json:"rows"`
}

const (
	stateFile   = "state.json"
	pendingFile = "pending.json"
	rejectsFile = "rejects.jsonl"
)

// DefaultStateDir is the state folder for one pair of servers, under the
// user's state directory ($XDG_STATE_HOME, else ~/.local/state).
func DefaultStateDir(from, to string) (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home directory for the state folder (give --state): %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(strings.TrimRight(from, "/") + "\n" + strings.TrimRight(to, "/")))
	return filepath.Join(base, "songcommons", "audiomuse", hex.EncodeToString(sum[:6])), nil
}

// OpenState reads the state folder dir (created, 0700, when missing).
func OpenState(dir, from, to string) (*State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &State{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		s.Version, s.From, s.To, s.Secret = 1, from, to, hex.EncodeToString(secret)
		s.Sent, s.Refused = map[string]SentTrack{}, map[string]string{}
		return s, s.Save()
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	if s.Sent == nil {
		s.Sent = map[string]SentTrack{}
	}
	if s.Refused == nil {
		s.Refused = map[string]string{}
	}
	return s, nil
}

// Save writes the state durably: a new file, synced, then renamed over
// the old one, so that a crash leaves either.
func (s *State) Save() error { return writeAtomic(filepath.Join(s.dir, stateFile), s) }

// Pending is the batch in flight: written before it is sent, removed
// once its answer is saved. Left behind, it names the tracks whose upload
// was cut off without an answer.
type Pending struct {
	IDs []string `json:"ids"`
}

func (s *State) setPending(ids []string) error {
	return writeAtomic(filepath.Join(s.dir, pendingFile), Pending{IDs: ids})
}

func (s *State) clearPending() error {
	err := os.Remove(filepath.Join(s.dir, pendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// pending reads a batch left in flight by an interrupted run.
func (s *State) pending() (Pending, error) {
	var p Pending
	b, err := os.ReadFile(filepath.Join(s.dir, pendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// Reject is one track not sent, and why (the rejects file, one JSON line
// each, in the state folder).
type Reject struct {
	ID     string `json:"id"`
	Artist string `json:"artist"`
	Title  string `json:"title"`
	Reason string `json:"reason"`
}

// RejectsPath is the rejects file of the state folder.
func (s *State) RejectsPath() string { return filepath.Join(s.dir, rejectsFile) }

func writeAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
