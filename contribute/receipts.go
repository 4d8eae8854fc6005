package contribute

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// Receipts let a contributor erase their anonymous rows without the
// database ever linking the rows to them or to each other.
//
// The client chooses a secret (at least 16 characters; the web UI makes
// 32 random bytes) and sends it with an upload. For each stored row the
// server keeps only
//
//	tag = hex(HMAC-SHA256(secret, "songcommons-receipt-v1|" + collection + "|" + row id))[:32]
//
// and forgets the secret. The client keeps the receipt: the secret and the
// row ids it got back. Presenting it later (signed in or not) deletes
// exactly the rows whose stored tag matches. Tags of one upload are
// pseudo-random and unrelated to each other without the secret, so a copy
// of the database cannot group rows by upload, and nothing ties a tag to
// an account.

// Receipt secret limits.
const (
	MinSecretLen = 16
	MaxSecretLen = 256
)

// ReceiptScheme names the receipt scheme in the answer of an upload.
const ReceiptScheme = "songcommons-receipt-v1"

// ReceiptTag derives the stored tag of a row.
func ReceiptTag(secret, collection, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ReceiptScheme + "|" + collection + "|" + id))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// CheckSecret validates a receipt secret.
func CheckSecret(s string) error {
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return fmt.Errorf("receipt secret must be printable text without surrounding spaces")
	}
	if n := len(s); n < MinSecretLen || n > MaxSecretLen {
		return fmt.Errorf("receipt secret must be %d to %d characters long (a random string the client keeps)", MinSecretLen, MaxSecretLen)
	}
	return nil
}

// TagRecord gives a contributed record, before it is created, the receipt
// tag of secret (none when secret is ""), choosing its random id first.
func TagRecord(r *core.Record, secret string) {
	if secret == "" {
		r.Set("receipt", "")
		return
	}
	if r.Id == "" {
		r.Id = core.GenerateDefaultRandomId()
	}
	r.Set("receipt", ReceiptTag(secret, r.Collection().Name, r.Id))
}

// ReceiptRow names one row of a receipt.
type ReceiptRow struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

// Receipt is what an upload with a receipt secret answers: the rows it
// stored, to be kept with the secret.
type Receipt struct {
	Scheme string       `json:"scheme"`
	Rows   []ReceiptRow `json:"rows"`
	Note   string       `json:"note"`
}

// ReceiptOf lists the rows an upload stored.
func ReceiptOf(ids StoredIDs) Receipt {
	rows := make([]ReceiptRow, 0, len(ids.Score)+len(ids.Embedding))
	for _, id := range ids.Score {
		rows = append(rows, ReceiptRow{songdata.ScoreCollection, id})
	}
	for _, id := range ids.Embedding {
		rows = append(rows, ReceiptRow{songdata.EmbeddingCollection, id})
	}
	return Receipt{Scheme: ReceiptScheme, Rows: rows,
		Note: "Keep this with your receipt secret: together they let you delete these rows later. The server does not keep the secret."}
}

// DeleteByReceipt deletes the rows of a receipt whose stored tag matches
// the secret, and nothing else, in one transaction under the journal's
// Contribution discipline, and returns how many it deleted. Rows are
// deleted as records, so the songs table and the similarity index follow
// (the record hooks). The rows' collections must be contributed ones.
func (w *Writer) DeleteByReceipt(secret string, rows []ReceiptRow) (int, error) {
	deleted := 0
	del := func() error {
		deleted = 0
		return w.app.RunInTransaction(func(tx core.App) error {
			for _, r := range rows {
				rec, err := tx.FindRecordById(r.Collection, r.ID)
				if err != nil {
					continue // already gone, or never existed
				}
				stored := rec.GetString("receipt")
				want := ReceiptTag(secret, r.Collection, r.ID)
				if stored == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(want)) != 1 {
					continue
				}
				if err := tx.Delete(rec); err != nil {
					return err
				}
				deleted++
			}
			return nil
		})
	}
	if err := w.underJournal(del, nil); err != nil {
		return 0, err
	}
	return deleted, nil
}
