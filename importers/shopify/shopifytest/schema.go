package shopifytest

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The part of the GraphQL Admin API schema the double serves. It is used to
// validate a query (unknown fields are refused the way Shopify refuses them),
// to compute its requested cost before running it, and to tell connections
// from plain objects while executing it.

type kindOf int

const (
	kScalar kindOf = iota
	kObject
	kInterface
)

type fieldDef struct {
	typ   string // the named type of the field, or of a connection's nodes
	list  bool   // a plain list ([T!]!)
	conn  bool   // a Relay connection of typ
	scope string // access scope the field needs
}

type typeDef struct {
	kind   kindOf
	fields map[string]fieldDef
	impls  []string // interface: the object types implementing it
}

type schemaDef map[string]*typeDef

// f is a compact field spec: "Type", "[Type]" (list) or "Type*" (connection),
// optionally followed by "@scope".
func f(spec string) fieldDef {
	var d fieldDef
	if i := strings.IndexByte(spec, '@'); i >= 0 {
		d.scope = spec[i+1:]
		spec = spec[:i]
	}
	switch {
	case strings.HasPrefix(spec, "["):
		d.list = true
		spec = strings.Trim(spec, "[]")
	case strings.HasSuffix(spec, "*"):
		d.conn = true
		spec = strings.TrimSuffix(spec, "*")
	}
	d.typ = spec
	return d
}

func fields(specs ...string) map[string]fieldDef {
	m := make(map[string]fieldDef, len(specs)/2)
	for i := 0; i+1 < len(specs); i += 2 {
		m[specs[i]] = f(specs[i+1])
	}
	return m
}

var scalarTypes = []string{"ID", "String", "Int", "Float", "Boolean", "DateTime", "Decimal", "URL",
	"UnsignedInt64", "CurrencyCode", "OrderDisplayFinancialStatus", "OrderActionType", "SaleActionType",
	"SaleLineType", "BulkOperationStatus", "BulkOperationErrorCode", "BulkOperationUserErrorCode",
	"BulkOperationType", "OrderCancelReason", "CountryCode"}

func buildSchema() schemaDef {
	s := schemaDef{}
	for _, n := range scalarTypes {
		s[n] = &typeDef{kind: kScalar}
	}
	obj := func(name string, fs map[string]fieldDef) { s[name] = &typeDef{kind: kObject, fields: fs} }
	iface := func(name string, fs map[string]fieldDef, impls ...string) {
		s[name] = &typeDef{kind: kInterface, fields: fs, impls: impls}
	}
	obj("QueryRoot", fields(
		"shop", "Shop",
		"orders", "Order*@read_orders",
		"order", "Order@read_orders",
		"locations", "Location*@read_locations",
		"location", "Location@read_locations",
		"currentAppInstallation", "AppInstallation",
		"node", "Node",
		"currentBulkOperation", "BulkOperation", // deprecated since 2026-01: bulkOperations with a status filter
		"bulkOperation", "BulkOperation",
		"bulkOperations", "BulkOperation*",
	))
	obj("Mutation", fields(
		"bulkOperationRunQuery", "BulkOperationRunQueryPayload",
		"bulkOperationCancel", "BulkOperationCancelPayload",
	))
	obj("Shop", fields("id", "ID", "name", "String", "myshopifyDomain", "String", "ianaTimezone", "String",
		"timezoneAbbreviation", "String", "currencyCode", "CurrencyCode", "taxesIncluded", "Boolean", "email", "String"))
	obj("AppInstallation", fields("id", "ID", "accessScopes", "[AccessScope]", "app", "App"))
	obj("AccessScope", fields("handle", "String", "description", "String"))
	obj("App", fields("id", "ID", "title", "String", "handle", "String"))
	obj("OrderApp", fields("id", "ID", "name", "String"))
	obj("Order", fields(
		"id", "ID", "legacyResourceId", "UnsignedInt64", "name", "String", "createdAt", "DateTime",
		"processedAt", "DateTime", "updatedAt", "DateTime", "cancelledAt", "DateTime", "cancelReason", "OrderCancelReason",
		"closedAt", "DateTime", "sourceName", "String", "sourceIdentifier", "String", "test", "Boolean",
		"displayFinancialStatus", "OrderDisplayFinancialStatus", "currencyCode", "CurrencyCode",
		"presentmentCurrencyCode", "CurrencyCode", "taxesIncluded", "Boolean", "note", "String", "tags", "[String]",
		"app", "OrderApp", "retailLocation", "Location", "staffMember", "StaffMember@read_users",
		"channelInformation", "ChannelInformation",
		"agreements", "SalesAgreement*", "lineItems", "LineItem*",
		"totalPriceSet", "MoneyBag", "currentTotalPriceSet", "MoneyBag", "subtotalPriceSet", "MoneyBag",
		"totalTaxSet", "MoneyBag", "totalDiscountsSet", "MoneyBag",
	))
	obj("ChannelInformation", fields("id", "ID", "channelId", "ID", "channelDefinition", "ChannelDefinition"))
	obj("ChannelDefinition", fields("id", "ID", "handle", "String", "channelName", "String"))
	obj("StaffMember", fields("id", "ID", "name", "String"))
	obj("Location", fields("id", "ID", "legacyResourceId", "UnsignedInt64", "name", "String", "isActive", "Boolean",
		"deactivatedAt", "String", "createdAt", "DateTime", "updatedAt", "DateTime", "fulfillsOnlineOrders", "Boolean",
		"address", "LocationAddress"))
	obj("LocationAddress", fields("address1", "String", "city", "String", "countryCode", "String", "zip", "String"))
	agreement := func(extra ...string) map[string]fieldDef {
		return fields(append([]string{"id", "ID", "happenedAt", "DateTime", "reason", "OrderActionType",
			"sales", "Sale*", "app", "App", "user", "StaffMember"}, extra...)...)
	}
	iface("SalesAgreement", agreement(), "OrderAgreement", "RefundAgreement", "ReturnAgreement", "OrderEditAgreement")
	obj("OrderAgreement", agreement("order", "Order"))
	obj("RefundAgreement", agreement("refund", "Refund"))
	obj("ReturnAgreement", agreement("return", "Return"))
	obj("OrderEditAgreement", agreement())
	obj("Refund", fields("id", "ID", "createdAt", "DateTime", "note", "String"))
	obj("Return", fields("id", "ID", "name", "String", "status", "String"))
	sale := func(extra ...string) map[string]fieldDef {
		return fields(append([]string{"id", "ID", "actionType", "SaleActionType", "lineType", "SaleLineType",
			"quantity", "Int", "totalAmount", "MoneyBag", "totalTaxAmount", "MoneyBag",
			"totalDiscountAmountBeforeTaxes", "MoneyBag", "totalDiscountAmountAfterTaxes", "MoneyBag",
			"taxes", "[SaleTax]"}, extra...)...)
	}
	iface("Sale", sale(), "ProductSale", "ShippingLineSale", "TipSale", "GiftCardSale", "DutySale",
		"AdditionalFeeSale", "AdjustmentSale", "UnknownSale")
	obj("ProductSale", sale("lineItem", "LineItem"))
	obj("TipSale", sale("lineItem", "LineItem"))
	obj("GiftCardSale", sale("lineItem", "LineItem"))
	obj("ShippingLineSale", sale("shippingLine", "ShippingLine"))
	for _, n := range []string{"DutySale", "AdditionalFeeSale", "AdjustmentSale", "UnknownSale"} {
		obj(n, sale())
	}
	obj("SaleTax", fields("id", "ID", "amount", "MoneyBag"))
	obj("MoneyBag", fields("shopMoney", "MoneyV2", "presentmentMoney", "MoneyV2"))
	obj("MoneyV2", fields("amount", "Decimal", "currencyCode", "CurrencyCode"))
	obj("LineItem", fields("id", "ID", "name", "String", "title", "String", "sku", "String", "quantity", "Int",
		"currentQuantity", "Int", "isGiftCard", "Boolean", "variant", "ProductVariant", "originalUnitPriceSet", "MoneyBag"))
	obj("ProductVariant", fields("id", "ID", "barcode", "String", "sku", "String", "title", "String"))
	obj("ShippingLine", fields("id", "ID", "title", "String", "code", "String"))
	obj("BulkOperation", fields("id", "ID", "status", "BulkOperationStatus", "errorCode", "BulkOperationErrorCode",
		"createdAt", "DateTime", "completedAt", "DateTime", "objectCount", "UnsignedInt64", "rootObjectCount", "UnsignedInt64",
		"fileSize", "UnsignedInt64", "url", "URL", "partialDataUrl", "URL", "query", "String", "type", "BulkOperationType"))
	obj("BulkOperationRunQueryPayload", fields("bulkOperation", "BulkOperation", "userErrors", "[BulkOperationUserError]"))
	obj("BulkOperationCancelPayload", fields("bulkOperation", "BulkOperation", "userErrors", "[BulkOperationUserError]"))
	obj("BulkOperationUserError", fields("field", "[String]", "message", "String", "code", "BulkOperationUserErrorCode"))
	iface("Node", fields("id", "ID"), "Order", "Location", "BulkOperation")
	obj("PageInfo", fields("hasNextPage", "Boolean", "hasPreviousPage", "Boolean", "startCursor", "String", "endCursor", "String"))
	return s
}

// implements reports whether an object of type objType matches a type
// condition.
func (s schemaDef) implements(objType, cond string) bool {
	if objType == cond {
		return true
	}
	if t := s[cond]; t != nil && t.kind == kInterface {
		for _, i := range t.impls {
			if i == objType {
				return true
			}
		}
	}
	return false
}

// kv and ordered render JSON objects with their keys in selection order, as
// GraphQL servers do.
type kv struct {
	k string
	v any
}

type ordered []kv

func (o ordered) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// appendJSON encodes the values answers are made of without reflection.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case ordered:
		b = append(b, '{')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, e.k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, e.v); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case string:
		if isPlain(x) {
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// isPlain reports whether s needs no escaping in JSON.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			return false
		}
	}
	return true
}

func (o ordered) get(k string) (any, bool) {
	for _, e := range o {
		if e.k == k {
			return e.v, true
		}
	}
	return nil, false
}
