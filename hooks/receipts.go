package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"
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

// ReceiptHeader carries the receipt secret on legacy record and batch
// creates.
const ReceiptHeader = "X-Songcommons-Receipt"

// Receipt secret limits.
const (
	MinSecretLen = 16
	MaxSecretLen = 256
)

// ReceiptTag derives the stored tag of a row.
func ReceiptTag(secret, collection, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("songcommons-receipt-v1|" + collection + "|" + id))
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

// bindReceipts tags rows created through the record API or /api/batch
// when the request carries a receipt secret header.
func bindReceipts(app core.App) {
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		secret := e.Request.Header.Get(ReceiptHeader)
		if secret == "" {
			e.Record.Set("receipt", "")
			return e.Next()
		}
		if err := CheckSecret(secret); err != nil {
			return e.BadRequestError("Invalid receipt secret.", fieldErr("receipt_secret", "validation_invalid_value", err.Error()))
		}
		if e.Record.Id == "" {
			e.Record.Id = core.GenerateDefaultRandomId()
		}
		e.Record.Set("receipt", ReceiptTag(secret, e.Collection.Name, e.Record.Id))
		return e.Next()
	})
}
