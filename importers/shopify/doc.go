// Package shopify imports a Shopify shop's Point of Sale orders as TMAS
// transactions, through the GraphQL Admin API.
//
// Each Fetch reads one page of orders updated in a window (incrementally by
// updated_at, re-reading an overlap so refunds and edits made days later are
// caught), turns each order's sales agreements into a `sale` and one
// `return` per refund, return or cancellation, each at the time it happened
// in the store's zone, and returns them with an opaque cursor. Net sales
// follow Shopify's analytics: gross − discounts − returns, without tax,
// shipping, duties, tips or gift cards sold. Long windows are read with a
// bulk operation. Rate limits are paced from the cost the API reports, so
// throttling never fails a run.
//
// It must never import the agent or its buffer, never keep a context or
// write anything to disk, never log or return a secret, never guess a
// location for an order Shopify gives none, and never count web orders,
// test orders or orders of unmapped locations.
package shopify
