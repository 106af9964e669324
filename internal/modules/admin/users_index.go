package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	usersPerPage   = 20
	maxQueryLength = 200
)

type userRow struct {
	contracts.User
	LockState string
}

type usersView struct {
	Q        string
	Rows     []userRow
	Total    int
	Page     int
	Pages    int
	PrevURL  string
	NextURL  string
	Searched bool
}

// usersIndex lists users, newest first, filtered by q and paged by page.
func (h *handler) usersIndex(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxQueryLength {
		q = q[:maxQueryLength]
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	users, total, err := h.users.List(r.Context(), q, page, usersPerPage)
	if err != nil {
		h.kit.ServerError(w, r, err)
		return
	}
	now := h.kit.Clock.Now()
	v := usersView{Q: q, Total: total, Page: page, Pages: max(1, (total+usersPerPage-1)/usersPerPage), Searched: q != ""}
	for _, u := range users {
		v.Rows = append(v.Rows, userRow{User: u, LockState: lockState(u, now)})
	}
	if page > 1 {
		v.PrevURL = usersURL(q, min(page-1, v.Pages))
	}
	if page < v.Pages {
		v.NextURL = usersURL(q, page+1)
	}
	h.kit.Render(w, r, http.StatusOK, pageUsers, web.View{Title: "Users", Data: v})
}

func usersURL(q string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/admin/users"
	}
	return "/admin/users?" + v.Encode()
}
