package audiomuse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// MaxBatch is the most songs one /contribute request takes.
const MaxBatch = 500

// Push is one run of `songcommons audiomuse push`.
type Push struct {
	Source *Source
	Target *Target
	State  *State
	// Batch is the number of songs per upload (default and at most
	// MaxBatch).
	Batch int
	// DryRun reads the library and says what would be sent; it sends
	// nothing and changes no state.
	DryRun bool
	// Stop, when closed, ends the run after the upload in flight has been
	// answered and saved (the first Ctrl-C); the context's end cuts it
	// off at once (the second).
	Stop <-chan struct{}
	// Progress is called after every batch (nil: not at all).
	Progress func(Summary)
}

// Summary counts what a run did.
type Summary struct {
	Library          int           // tracks in AudioMuse-AI's manifest
	ToSend           int           // of them, new or re-analysed since they were sent
	Read             int           // full payloads read
	Sent             int           // tracks uploaded (or, in a dry run, that would be)
	Updated          int           // of Sent, tracks sent before with another analysis
	Skipped          int           // tracks not sent, with their reasons in the rejects file
	SkippedUnchanged int           // tracks not sent before, not re-analysed since (not tried again)
	AlreadySent      int           // tracks whose analysis was sent before, unchanged
	Gone             int           // tracks sent before, no longer in the library
	Resent           int           // tracks of a request cut off without an answer, sent again
	Deleted          int           // rows of earlier analyses deleted by receipt
	Elapsed          time.Duration // so far
	Reading          time.Duration // of Elapsed, waiting for AudioMuse-AI
	Uploading        time.Duration // of Elapsed, waiting for songcommons
}

// ErrStopped ends a run stopped by Push.Stop; what was answered is saved.
var ErrStopped = errors.New("stopped: the tracks answered so far are saved; run the same command again to go on")

// Run reads the manifest, and sends the tracks that are new or were
// re-analysed, in batches: each batch is marked pending in the state
// folder, uploaded, and saved as sent with its rows before the next
// starts. Earlier rows of re-analysed tracks are deleted by receipt once
// the new ones are stored.
func (p *Push) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	var sum Summary
	batch := p.Batch
	if batch <= 0 || batch > MaxBatch {
		batch = MaxBatch
	}
	if pend, err := p.State.pending(); err != nil {
		return sum, err
	} else {
		sum.Resent = len(pend.IDs) // not marked sent: they go again
	}
	t0 := time.Now()
	manifest, err := p.Source.Manifest(ctx)
	sum.Reading += time.Since(t0)
	if err != nil {
		return sum, err
	}
	sum.Library = len(manifest)
	inLibrary := make(map[string]bool, len(manifest))
	var todo []string
	for _, m := range manifest {
		inLibrary[m.ID] = true
		if sent, ok := p.State.Sent[m.ID]; ok && sent.FP == m.FP {
			sum.AlreadySent++
			continue
		}
		if fp, ok := p.State.Refused[m.ID]; ok && fp == m.FP {
			sum.SkippedUnchanged++
			continue
		}
		todo = append(todo, m.ID)
	}
	for id := range p.State.Sent {
		if !inLibrary[id] {
			sum.Gone++
		}
	}
	sum.ToSend = len(todo)
	var rejects *os.File
	if !p.DryRun {
		if rejects, err = os.OpenFile(p.State.RejectsPath(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
			return sum, err
		}
		defer rejects.Close()
	}
	reject := func(t *Track, reason string) error {
		sum.Skipped++
		if rejects == nil {
			return nil
		}
		p.State.Refused[t.ID] = t.FP // saved with the batch
		b, _ := json.Marshal(Reject{ID: t.ID, Artist: t.Artist, Title: t.Title, Reason: reason})
		_, err := rejects.Write(append(b, '\n'))
		return err
	}
	if err := p.deleteStale(ctx, &sum); err != nil {
		return sum, err
	}
	for lo := 0; lo < len(todo); lo += batch {
		select {
		case <-p.Stop:
			sum.Elapsed = time.Since(start)
			return sum, ErrStopped
		default:
		}
		t0 := time.Now()
		tracks, err := p.Source.Tracks(ctx, todo[lo:min(len(todo), lo+batch)])
		sum.Reading += time.Since(t0)
		if err != nil {
			return sum, err
		}
		sum.Read += len(tracks)
		var send []*Track
		var songs []Song
		for i := range tracks {
			t := &tracks[i]
			s, err := SongOf(t)
			if err != nil {
				if err := reject(t, err.Error()); err != nil {
					return sum, err
				}
				continue
			}
			send, songs = append(send, t), append(songs, s)
		}
		if p.DryRun {
			p.count(&sum, send)
		} else if err := p.upload(ctx, &sum, send, songs, reject); err != nil {
			return sum, err
		}
		sum.Elapsed = time.Since(start)
		if p.Progress != nil {
			p.Progress(sum)
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// count adds tracks sent (or that a dry run would send) to sum.
func (p *Push) count(sum *Summary, tracks []*Track) {
	sum.Sent += len(tracks)
	for _, t := range tracks {
		if _, ok := p.State.Sent[t.ID]; ok {
			sum.Updated++
		}
	}
}

// upload sends one batch. Songs the server refuses (a 400 naming them)
// go to the rejects file and the rest is sent again: nothing of a refused
// request is stored.
func (p *Push) upload(ctx context.Context, sum *Summary, tracks []*Track, songs []Song, reject func(*Track, string) error) error {
	for len(songs) > 0 {
		ids := make([]string, len(tracks))
		for i, t := range tracks {
			ids[i] = t.ID
		}
		if err := p.State.setPending(ids); err != nil {
			return err
		}
		t0 := time.Now()
		rows, err := p.Target.Contribute(ctx, songs, p.State.Secret)
		sum.Uploading += time.Since(t0)
		if rej, ok := isRejected(err); ok {
			var keepT []*Track
			var keepS []Song
			for i := range songs {
				if reasons, bad := rej.Songs[i]; bad {
					slices.Sort(reasons)
					if err := reject(tracks[i], fmt.Sprint("refused by songcommons: ", reasons)); err != nil {
						return err
					}
					continue
				}
				keepT, keepS = append(keepT, tracks[i]), append(keepS, songs[i])
			}
			tracks, songs = keepT, keepS
			continue
		}
		if err != nil {
			return err // the batch stays pending: its tracks go again next run
		}
		p.count(sum, tracks)
		for i, t := range tracks {
			delete(p.State.Refused, t.ID)
			if old, ok := p.State.Sent[t.ID]; ok {
				p.State.Stale = append(p.State.Stale, old.Rows...)
			}
			p.State.Sent[t.ID] = SentTrack{FP: t.FP, Rows: rows[i]}
		}
		if err := p.State.Save(); err != nil {
			return err
		}
		if err := p.State.clearPending(); err != nil {
			return err
		}
		return p.deleteStale(ctx, sum)
	}
	if err := p.State.Save(); err != nil { // the refusals
		return err
	}
	return p.State.clearPending()
}

// deleteStale deletes, by receipt, the rows of analyses that were sent
// again since, and forgets them once deleted.
func (p *Push) deleteStale(ctx context.Context, sum *Summary) error {
	if len(p.State.Stale) == 0 || p.DryRun {
		return nil
	}
	if err := p.Target.DeleteRows(ctx, p.State.Secret, p.State.Stale); err != nil {
		return fmt.Errorf("deleting the rows of earlier analyses (kept in the state, tried again next run): %w", err)
	}
	sum.Deleted += len(p.State.Stale)
	p.State.Stale = nil
	return p.State.Save()
}
