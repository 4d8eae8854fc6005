package hooks

// GuardedPocketBaseRoutes are the patterns of PocketBase's routes the
// service binds guards to, for the route table test.
func GuardedPocketBaseRoutes() []string {
	out := []string{realtimeSubscribeRoute}
	for p := range recordRoutes {
		out = append(out, p)
	}
	for _, r := range emailRoutes {
		out = append(out, "POST /api/collections/{collection}/"+r)
	}
	return out
}
