package shopify

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tmas/storeagent/importers/record"
)

// Conditions callers may branch on with errors.Is: the agent turns the
// source red and keeps the others running.
var (
	// ErrUnauthorized: the token or the client credentials were refused.
	ErrUnauthorized = errors.New("shopify: credentials refused")
	// ErrAccessDenied: the app lacks a scope or a data-access approval.
	ErrAccessDenied = errors.New("shopify: access denied")
	// ErrShopUnavailable: the shop is frozen, locked or does not exist.
	ErrShopUnavailable = errors.New("shopify: shop unavailable")
)

// Error is a failure explained for the operator. Its text never holds a
// secret.
type Error struct {
	Kind   error // one of the Err… conditions, or nil
	Status int   // HTTP status, when there was one
	msg    string
	fix    string
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives the condition and, for refused credentials and missing
// scopes (HTTP 401, 403, ACCESS_DENIED, a refused client secret),
// record.ErrCredentials: retrying cannot fix those, a person must.
func (e *Error) Unwrap() []error {
	switch {
	case e.Kind == nil:
		return nil
	case e.Kind == ErrUnauthorized || e.Kind == ErrAccessDenied:
		return []error{e.Kind, record.ErrCredentials}
	}
	return []error{e.Kind}
}

// Fix says what to do about it, for doctor.
func (e *Error) Fix() string { return e.fix }

func errRevoked() *Error {
	return &Error{Kind: ErrUnauthorized, Status: 401,
		msg: "shopify: the access token was rejected: the custom app may have been uninstalled or its creator removed from the shop (HTTP 401)",
		fix: "in Shopify admin > Settings > Apps and sales channels > Develop apps, check the app is still installed; if not, create it again and put its new Admin API token in the configuration"}
}

func errClientRefused(status int, code string) *Error {
	if code == "" {
		code = "refused"
	}
	return &Error{Kind: ErrUnauthorized, Status: status,
		msg: fmt.Sprintf("shopify: the client id and secret were refused (HTTP %d %s): the app may have been uninstalled from the shop or deleted, or its secret rotated in the Dev Dashboard", status, code),
		fix: "in the Dev Dashboard, check the app is installed on this shop and copy its current client id and secret into the configuration"}
}

func errFrozen(shop string) *Error {
	return &Error{Kind: ErrShopUnavailable, Status: 402,
		msg: fmt.Sprintf("shopify: the shop %s is frozen (HTTP 402 Payment Required): its Shopify bill is unpaid, and the API answers nothing until it is paid", shop),
		fix: "the shop owner must settle the bill in Shopify admin > Settings > Billing; the agent resumes by itself afterwards"}
}

func errLocked(shop string) *Error {
	return &Error{Kind: ErrShopUnavailable, Status: 423,
		msg: fmt.Sprintf("shopify: the shop %s is locked by Shopify (HTTP 423 Locked): the API answers nothing while it is locked", shop),
		fix: "the shop owner must contact Shopify support to unlock the shop"}
}

func errNoShop(shop, base, version string) *Error {
	return &Error{Kind: ErrShopUnavailable, Status: 404,
		msg: fmt.Sprintf("shopify: no shop answers at %s (HTTP 404): check shopify.shop (%q, the name before .myshopify.com) and shopify.api_version (%s)", base, shop, version),
		fix: "set shopify.shop to the name shown in Shopify admin > Settings > Domains (xxx.myshopify.com)"}
}

var scopeInText = regexp.MustCompile("`?(read_[a-z_]+|write_[a-z_]+)`?")

func errDenied(what, message string, status int) *Error {
	scope := ""
	if m := scopeInText.FindStringSubmatch(message); m != nil {
		scope = m[1]
	}
	switch {
	case strings.Contains(message, "protected customer data") || strings.Contains(message, "not approved to access"):
		return &Error{Kind: ErrAccessDenied, Status: status,
			msg: fmt.Sprintf("shopify: access denied to %s: the app is not approved for protected customer data (Shopify says: %s)", what, trim(message, 200)),
			fix: "in the app's settings (Dev Dashboard > API access > Protected customer data), request access to order data, then reinstall the app"}
	case scope != "":
		return &Error{Kind: ErrAccessDenied, Status: status,
			msg: fmt.Sprintf("shopify: access denied to %s: the app lacks the %s scope", what, scope),
			fix: fmt.Sprintf("add the %s scope to the app's Admin API scopes and reinstall the app (Shopify admin > Settings > Apps and sales channels > Develop apps)", scope)}
	}
	return &Error{Kind: ErrAccessDenied, Status: status,
		msg: fmt.Sprintf("shopify: access denied to %s (Shopify says: %s)", what, trim(message, 200)),
		fix: "check the app's Admin API scopes: read_orders and read_locations are needed"}
}

func trim(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
