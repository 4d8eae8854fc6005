package hooks

import (
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// feedlessCollections have no live feed for anyone but superusers: a
// subscription to them would deliver new rows as they are written, one
// request's rows together, which is what the storage hides.
var feedlessCollections = append([]string{"songs", "song_vectors", "songs_low_agreement"}, ContributedCollections...)

// RealtimeRefusedMessage answers a refused realtime subscription.
const RealtimeRefusedMessage = "Live feeds of the dataset are off: they would show which rows arrive together. Read the dataset through the record API or /api/songcommons/lookup."

// bindRealtime refuses realtime subscriptions to the dataset (PocketBase's
// /api/realtime) to everyone but superusers.
func bindRealtime(app core.App) {
	app.OnRealtimeSubscribeRequest().BindFunc(func(e *core.RealtimeSubscribeRequestEvent) error {
		if e.HasSuperuserAuth() {
			return e.Next()
		}
		for _, s := range e.Subscriptions {
			topic, _, _ := strings.Cut(s, "?")
			c, _, _ := strings.Cut(topic, "/")
			if collectionIn(e.App, c, feedlessCollections) {
				return e.ForbiddenError(RealtimeRefusedMessage, validation.Errors{
					"subscriptions": validation.NewError("validation_not_allowed", "no live feed of "+c+": "+RealtimeRefusedMessage),
				})
			}
		}
		return e.Next()
	})
}
