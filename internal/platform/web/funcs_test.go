package web

import (
	"html/template"
	"testing"
)

func TestTemplateFuncsEmailBreaksAndPhone(t *testing.T) {
	f := funcs()
	breaks := f["emailBreaks"].(func(string) template.HTML)
	tests := []struct {
		name, in string
		want     template.HTML
	}{
		{name: "break after dots and before the @", in: "ann.lee@mail.example.com", want: "ann.<wbr>lee<wbr>@mail.<wbr>example.<wbr>com"},
		{name: "markup is escaped", in: `<b>"x"@y`, want: "&lt;b&gt;&#34;x&#34;<wbr>@y"},
		{name: "leading @ gets no break", in: "@x", want: "@x"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := breaks(tt.in); got != tt.want {
				t.Errorf("emailBreaks(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := f["phone"].(func(string) string)("+12015550123"); got != "+1 201-555-0123" {
		t.Errorf("phone: got %q, want %q", got, "+1 201-555-0123")
	}
}
