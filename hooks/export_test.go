package hooks

// IdentifierQuery exposes keysByIdentifier's query to the index test.
var IdentifierQuery = identifierQuery

// RewriteBelow exposes the size under which data.db is rewritten after
// every contribution (layout.go) to the layout test.
const RewriteBelow = rewriteBelow

// The reserve's bounds, for the reserve test (TopUpReserve is in reserve.go).
const ReserveLow, ReserveTarget = reserveLow, reserveTarget
