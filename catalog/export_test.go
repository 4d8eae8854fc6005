package catalog

// IdentifierQuery exposes keysByIdentifier's query to the index test.
var IdentifierQuery = identifierQuery

// AliasQuery exposes AliasTargets' query to the index test.
var AliasQuery = aliasQuery
