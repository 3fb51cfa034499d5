// Package vend imports sales, returns, voids and staff shifts from
// Lightspeed Retail X-Series (formerly Vend) through its API 2.0 version
// change feed, and holds the OAuth connect flow that gives the agent its
// refresh token.
//
// It is a synchronous fetcher: Fetch reads one API page per call and hands
// back records and the cursor to resume from; the agent commits both in one
// transaction. The package must never import the agent or its buffer, never
// keep a context, never write a secret (token, refresh token, client secret)
// to a log, an error or a record, and never store anything itself except
// through the TokenStore it is given.
package vend
