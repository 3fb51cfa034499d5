package shopify

import (
	"strconv"
	"strings"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// The GraphQL the importer sends. An order is read with its sales agreements
// (the ledger Shopify's analytics is built from) and each agreement with its
// sales; nested connections are kept small so a page stays under the
// 1000-point single-query limit, and an order whose agreements or sales do
// not fit is completed by follow-up queries.

const (
	agreementsFirst = 3  // agreements per order in the first page of orders
	salesFirst      = 8  // sales per agreement in the first page of orders
	maxNestedFirst  = 50 // the most agreements or sales a page asks per order
	moreSalesFirst  = 20 // sales per agreement in a follow-up for more agreements
)

const saleFields = `__typename actionType lineType quantity
      totalAmount { shopMoney { amount currencyCode } }
      totalTaxAmount { shopMoney { amount } }
      totalDiscountAmountBeforeTaxes { shopMoney { amount } }
      ... on ProductSale { lineItem { id sku name variant { barcode } } }`

const orderFields = `id name createdAt processedAt updatedAt cancelledAt sourceName test displayFinancialStatus currencyCode
    app { name }
    retailLocation { id }`

// staffField is asked for only when the app has read_users: without it
// Shopify denies the field (a paged query carries on without it, a bulk
// export fails whole).
const staffField = `
    staffMember { id }`

func orderSelection(staff bool) string {
	if staff {
		return orderFields + staffField
	}
	return orderFields
}

// ordersQuery reads a page of orders with their first agreements and
// sales.
// The nested page sizes are variables: the importer sizes them for the
// usual order of the last page.
func ordersQuery(staff bool) string {
	return `query StoreagentOrders($first: Int!, $after: String, $query: String!, $agreementsFirst: Int!, $salesFirst: Int!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      ` + orderSelection(staff) + `
      agreements(first: $agreementsFirst) {
        pageInfo { hasNextPage }
        edges { cursor node { ...StoreagentAgreement } }
      }
    }
  }
}
fragment StoreagentAgreement on SalesAgreement {
  __typename id happenedAt reason
  sales(first: $salesFirst) {
    pageInfo { hasNextPage endCursor }
    nodes { ` + saleFields + ` }
  }
}`
}

const moreAgreementsQuery = `query StoreagentOrderAgreements($id: ID!, $after: String, $first: Int!, $salesFirst: Int!) {
  order(id: $id) {
    agreements(first: $first, after: $after) {
      pageInfo { hasNextPage }
      edges { cursor node {
        __typename id happenedAt reason
        sales(first: $salesFirst) {
          pageInfo { hasNextPage endCursor }
          nodes { ` + saleFields + ` }
        }
      } }
    }
  }
}`

const moreSalesQuery = `query StoreagentAgreementSales($id: ID!, $agreementAfter: String, $after: String, $first: Int!) {
  order(id: $id) {
    agreements(first: 1, after: $agreementAfter) {
      edges { node {
        id
        sales(first: $first, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes { ` + saleFields + ` }
        }
      } }
    }
  }
}`

const shopQuery = `query StoreagentShop {
  shop { name myshopifyDomain ianaTimezone currencyCode taxesIncluded }
  currentAppInstallation { accessScopes { handle } }
}`

const locationsQuery = `query StoreagentLocations($after: String) {
  locations(first: 250, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive }
  }
}`

// Requested costs, by Shopify's rules: an object 1 point, a scalar 0, a
// connection 2 + first × (1 + the cost of a node).
const (
	saleCost      = 3*2 + 2 // three MoneyBag{shopMoney} and lineItem{variant}
	shopCost      = 3
	locationsCost = 2 + 250
	maxQueryCost  = 1000
)

// orderCost is the requested cost of one order node in a page of orders
// (the node, app, retailLocation, staffMember when asked, and agreements
// sized a × sales s).
func orderCost(staff bool, a, s int) float64 {
	objs := 3
	if staff {
		objs++
	}
	return float64(objs + 2 + a*(1+2+s*(1+saleCost)))
}

// followUpSizes are the page sizes of the follow-up queries that fit a cost
// limit: agreements (with sales) per query for an order, and sales per query
// for one agreement, with the requested cost of each.
func followUpSizes(limit float64) (agreements, agrSales int, agrCost float64, sales int, salesCost float64) {
	lim := int(limit)
	agrSales = moreSalesFirst
	per := 1 + 2 + agrSales*(1+saleCost)
	agreements = (lim - 3) / per
	if agreements < 1 {
		agreements, agrSales = 1, max(1, (lim-6)/(1+saleCost))
	}
	agrCost = float64(3 + agreements*(1+2+agrSales*(1+saleCost)))
	sales = min(250, max(1, (lim-6)/(1+saleCost)))
	salesCost = float64(6 + sales*(1+saleCost))
	return
}

// bulkQuery is the same selection for a bulk operation: no page sizes, and
// every nested connection's nodes come back as their own JSONL lines.
func bulkQuery(search string, staff bool) string {
	return `{
  orders(query: ` + strconv.Quote(search) + `, sortKey: UPDATED_AT) {
    edges { node {
      ` + orderSelection(staff) + `
      agreements { edges { node {
        __typename id happenedAt reason
        sales { edges { node { ` + saleFields + ` } } }
      } } }
    } }
  }
}`
}

// searchQuery is the orders filter for a window. Timestamps are quoted UTC:
// unquoted, the colons break Shopify's search syntax, and without an offset
// Shopify reads them in the shop's zone.
//
// source_name:pos has Shopify leave out online orders, so they cost no
// rate-limit points; the importer still checks each order it gets.
func searchQuery(st *cursorState) string {
	q := "source_name:pos AND updated_at:>='" + st.Since.UTC().Format(time.RFC3339) + "' AND updated_at:<'" + st.Until.UTC().Format(time.RFC3339) + "'"
	if st.CreatedBefore != nil {
		q += " AND created_at:<'" + st.CreatedBefore.UTC().Format(time.RFC3339) + "'"
	}
	return q
}

// Answers.

type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type moneyBag struct {
	ShopMoney struct {
		Amount       record.Money `json:"amount"`
		CurrencyCode string       `json:"currencyCode"`
	} `json:"shopMoney"`
}

type gLineItem struct {
	ID      string `json:"id"`
	SKU     string `json:"sku"`
	Name    string `json:"name"`
	Variant *struct {
		Barcode string `json:"barcode"`
	} `json:"variant"`
}

type gSale struct {
	Typename                       string     `json:"__typename"`
	ActionType                     string     `json:"actionType"`
	LineType                       string     `json:"lineType"`
	Quantity                       *int64     `json:"quantity"`
	TotalAmount                    moneyBag   `json:"totalAmount"`
	TotalTaxAmount                 moneyBag   `json:"totalTaxAmount"`
	TotalDiscountAmountBeforeTaxes moneyBag   `json:"totalDiscountAmountBeforeTaxes"`
	LineItem                       *gLineItem `json:"lineItem"`
	ParentID                       string     `json:"__parentId"`
}

type saleConn struct {
	PageInfo pageInfo `json:"pageInfo"`
	Nodes    []gSale  `json:"nodes"`
	Edges    []struct {
		Node gSale `json:"node"`
	} `json:"edges"`
}

type gAgreement struct {
	Typename   string    `json:"__typename"`
	ID         string    `json:"id"`
	HappenedAt time.Time `json:"happenedAt"`
	Reason     string    `json:"reason"`
	Sales      saleConn  `json:"sales"`
	ParentID   string    `json:"__parentId"`
}

type agreementEdge struct {
	Cursor string     `json:"cursor"`
	Node   gAgreement `json:"node"`
}

type agreementConn struct {
	PageInfo pageInfo        `json:"pageInfo"`
	Edges    []agreementEdge `json:"edges"`
}

type gOrder struct {
	ID                     string     `json:"id"`
	Name                   string     `json:"name"`
	CreatedAt              time.Time  `json:"createdAt"`
	ProcessedAt            time.Time  `json:"processedAt"`
	UpdatedAt              time.Time  `json:"updatedAt"`
	CancelledAt            *time.Time `json:"cancelledAt"`
	SourceName             string     `json:"sourceName"`
	Test                   bool       `json:"test"`
	DisplayFinancialStatus string     `json:"displayFinancialStatus"`
	CurrencyCode           string     `json:"currencyCode"`
	App                    *struct {
		Name string `json:"name"`
	} `json:"app"`
	RetailLocation *struct {
		ID string `json:"id"`
	} `json:"retailLocation"`
	StaffMember *struct {
		ID string `json:"id"`
	} `json:"staffMember"`
	Agreements agreementConn `json:"agreements"`
}

type ordersData struct {
	Orders struct {
		PageInfo pageInfo `json:"pageInfo"`
		Nodes    []gOrder `json:"nodes"`
	} `json:"orders"`
}

type orderData struct {
	Order *gOrder `json:"order"`
}

type shopData struct {
	Shop struct {
		Name            string `json:"name"`
		MyshopifyDomain string `json:"myshopifyDomain"`
		IanaTimezone    string `json:"ianaTimezone"`
		CurrencyCode    string `json:"currencyCode"`
		TaxesIncluded   bool   `json:"taxesIncluded"`
	} `json:"shop"`
	CurrentAppInstallation *struct {
		AccessScopes []struct {
			Handle string `json:"handle"`
		} `json:"accessScopes"`
	} `json:"currentAppInstallation"`
}

func (d shopData) scopes() map[string]bool {
	m := map[string]bool{}
	if d.CurrentAppInstallation != nil {
		for _, s := range d.CurrentAppInstallation.AccessScopes {
			m[s.Handle] = true
		}
	}
	return m
}

type locationsData struct {
	Locations struct {
		PageInfo pageInfo `json:"pageInfo"`
		Nodes    []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			IsActive bool   `json:"isActive"`
		} `json:"nodes"`
	} `json:"locations"`
}

// numericID is the number at the end of a gid ("gid://shopify/Order/123"),
// or the text itself when it is already a number.
func numericID(gid string) string {
	return gid[strings.LastIndexByte(gid, '/')+1:]
}
