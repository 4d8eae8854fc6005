package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ContributeRule lets any signed-in contributor (a "users" record) create rows.
const ContributeRule = `@request.auth.id != "" && @request.auth.collectionName = "users"`

func init() {
	m.Register(func(app core.App) error {
		if err := trimUsers(app); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if err := createScore(app); err != nil {
			return fmt.Errorf("score: %w", err)
		}
		if err := createEmbedding(app); err != nil {
			return fmt.Errorf("embedding: %w", err)
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"embedding", "score"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
}

// trimUsers reduces PocketBase's default "users" collection to what the
// privacy policy allows: no name, no avatar, an optional e-mail that stays
// empty, no precise timestamps, GitHub OAuth2 as the only way in, no auth
// alerts (their _authOrigins fingerprints tie request logs to accounts),
// and no API updates or deletes (the service routes handle consent and
// erasure).
func trimUsers(app core.App) error {
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}
	for _, name := range []string{"name", "avatar", "created", "updated"} {
		users.Fields.RemoveByName(name)
	}
	if email, ok := users.Fields.GetByName(core.FieldNameEmail).(*core.EmailField); ok {
		email.Required = false
	}
	// account dates are kept to the day (set by a hook)
	users.Fields.Add(&core.DateField{Name: "created"})

	owner := "id = @request.auth.id"
	users.ListRule = types.Pointer(owner)
	users.ViewRule = types.Pointer(owner)
	users.CreateRule = types.Pointer(`@request.context = "oauth2"`)
	users.UpdateRule = nil
	users.DeleteRule = nil

	users.PasswordAuth.Enabled = false
	users.OTP.Enabled = false
	users.MFA.Enabled = false
	users.AuthAlert.Enabled = false
	users.OAuth2.Enabled = true
	users.OAuth2.MappedFields = core.OAuth2KnownFields{}
	users.OAuth2.Providers = nil // configured from the environment at start-up

	return app.Save(users)
}

// identityFields are the fields shared by score and embedding.
func identityFields(c *core.Collection) {
	c.Fields.Add(
		&core.TextField{Name: "artist", Required: true, Max: 512},
		&core.TextField{Name: "title", Required: true, Max: 512},
		&core.TextField{Name: "song_key", Max: 2048},
		&core.TextField{Name: "album", Max: 512},
		&core.NumberField{Name: "duration", Min: types.Pointer(0.0)},
		&core.TextField{Name: "mbid", Max: 64},
		&core.TextField{Name: "isrc", Max: 32},
		&core.TextField{Name: "analyzer", Max: 128},
	)
}

// receiptField holds the one-way receipt tag of a row (see contribute/receipts.go):
// HMAC of the row id under a secret only the contributor holds. Hidden from
// the API.
func receiptField(c *core.Collection) {
	c.Fields.Add(&core.TextField{Name: "receipt", Hidden: true, Max: 64})
}

func contributedRules(c *core.Collection) {
	c.ListRule = types.Pointer("")
	c.ViewRule = types.Pointer("")
	c.CreateRule = types.Pointer(ContributeRule)
	c.UpdateRule = nil // superusers only (moderation)
	c.DeleteRule = nil
}

func identityIndexes(c *core.Collection) {
	n := c.Name
	c.AddIndex("idx_"+n+"_song_key", false, "song_key", "")
	c.AddIndex("idx_"+n+"_artist", false, "artist", "")
	c.AddIndex("idx_"+n+"_mbid", false, "mbid", "mbid != ''")
	c.AddIndex("idx_"+n+"_isrc", false, "isrc", "isrc != ''")
}

// createScore creates "score": one contributed analysis. No user relation
// and no created/updated fields, by design.
func createScore(app core.App) error {
	c := core.NewBaseCollection("score")
	contributedRules(c)
	identityFields(c)
	c.Fields.Add(
		&core.NumberField{Name: "tempo", Required: true, Min: types.Pointer(0.0), Max: types.Pointer(400.0)},
		&core.TextField{Name: "key", Required: true, Max: 2},
		&core.TextField{Name: "scale", Required: true, Max: 5},
		&core.TextField{Name: "mood_vector", Max: 4096},
		&core.NumberField{Name: "energy", Min: types.Pointer(0.0)},
		&core.TextField{Name: "other_features", Max: 4096},
	)
	receiptField(c)
	identityIndexes(c)
	return app.Save(c)
}

// createEmbedding creates "embedding": one contributed vector.
func createEmbedding(app core.App) error {
	c := core.NewBaseCollection("embedding")
	contributedRules(c)
	identityFields(c)
	c.Fields.Add(
		&core.TextField{Name: "model", Required: true, Max: 64},
		// the vector as base64 float32, before the JSON so that start-up reads
		// it without touching the JSON's pages; hidden from the API
		&core.TextField{Name: "vec", Hidden: true, Max: 8192},
		&core.JSONField{Name: "embedding", Required: true, MaxSize: 64 << 10},
	)
	receiptField(c)
	identityIndexes(c)
	c.AddIndex("idx_embedding_model_song_key", false, "model, song_key", "")
	return app.Save(c)
}
