package catalog

// IdentifierQuery exposes keysByIdentifier's query to the index test.
var IdentifierQuery = identifierQuery
