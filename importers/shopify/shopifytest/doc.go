// Package shopifytest is a test double of the Shopify GraphQL Admin API for
// one shop: an httptest server that parses the GraphQL it receives, checks it
// against the part of the schema it serves, and answers the way Shopify does.
//
// It honours the orders search filters (updated_at, created_at, processed_at
// ranges, with quoted timestamps; dates without an offset read in the shop's
// zone), first/after pagination with Shopify-shaped cursors, sortKey and
// reverse; it lags the search index behind writes (an updated order moves to
// the end of an UPDATED_AT sort only once the index sees it); it hides orders
// older than 60 days without read_all_orders; it computes each query's
// requested cost before running it, reserves it from a leaky bucket, charges
// the actual cost and answers THROTTLED (HTTP 200 or 429) or
// MAX_COST_EXCEEDED; it serves bulk operations with a JSONL file and
// __parentId; it accepts legacy admin tokens and client-credentials tokens
// that expire, answers 401 with Shopify's body once the app is uninstalled,
// falls unsupported API versions forward and says so in
// X-Shopify-Api-Version; and it injects faults (5xx, dropped connections,
// frozen, locked or unknown shops, missing scopes).
//
// Scenarios are built with AddLocation, AddOrder, Refund, Cancel, Exchange,
// EditOrder, Touch and DeleteOrder, which record Shopify's sales agreements
// (OrderAgreement, RefundAgreement, ReturnAgreement, OrderEditAgreement) the
// way Shopify's ledger does, so end-to-end tests elsewhere can reuse it.
//
// It must never be imported by production code, never reach the network
// beyond its own loopback listener, and never decide what a test expects:
// tests compute their expectations from their own scenario definitions.
package shopifytest
