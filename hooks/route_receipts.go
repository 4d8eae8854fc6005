package hooks

import (
	"fmt"
	"net/http"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
)

// MaxReceiptRows bounds one erasure request.
const MaxReceiptRows = 5000

type receiptRequest struct {
	Secret string                  `json:"secret"`
	Rows   []contribute.ReceiptRow `json:"rows"`
}

// receiptDeleteHandler deletes the rows of a receipt whose stored tag
// matches the secret, and nothing else; signed in or not
// (contribute.Writer.DeleteByReceipt).
func receiptDeleteHandler(w *contribute.Writer) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req receiptRequest
		if err := readJSON(e, maxReceiptsBody, &req); err != nil {
			return err
		}
		if err := contribute.CheckSecret(req.Secret); err != nil {
			return e.BadRequestError("Invalid request data.", fieldErr("secret", "validation_invalid_value", err.Error()))
		}
		if len(req.Rows) == 0 {
			return e.BadRequestError("Invalid request data.", fieldErr("rows", "validation_required", "rows is required: the collection and id of each row of the receipt"))
		}
		if len(req.Rows) > MaxReceiptRows {
			return e.BadRequestError("Invalid request data.", fieldErr("rows", "validation_too_many", fmt.Sprintf("at most %d rows per request", MaxReceiptRows)))
		}
		errs := validation.Errors{}
		for i, r := range req.Rows {
			if r.Collection != "score" && r.Collection != "embedding" {
				errs[fmt.Sprintf("rows.%d.collection", i)] = validation.NewError("validation_invalid_value", "collection must be score or embedding")
			}
			if r.ID == "" {
				errs[fmt.Sprintf("rows.%d.id", i)] = validation.NewError("validation_required", "id is required")
			}
		}
		if len(errs) > 0 {
			return e.BadRequestError("Invalid request data.", errs)
		}
		deleted, err := w.DeleteByReceipt(req.Secret, req.Rows)
		if err != nil {
			return e.InternalServerError("Failed to delete; nothing was deleted.", err)
		}
		return e.JSON(http.StatusOK, map[string]any{"deleted": deleted, "unmatched": len(req.Rows) - deleted})
	}
}
