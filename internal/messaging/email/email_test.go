package email_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
)

var (
	_ email.Sender = (*email.Console)(nil)
	_ email.Sender = (*email.Recorder)(nil)
)

func TestConsoleSend(t *testing.T) {
	tests := []struct {
		name string
		msg  email.Message
		want []map[string]string // one per record, in order
	}{
		{
			name: "text body with link",
			msg: email.Message{
				To:      "ada@example.com",
				Subject: "Confirm your email",
				Text:    "Hello,\r\n\nconfirm: http://127.0.0.1:8080/account/confirm-email?userId=1&code=abc\n",
				HTML:    "<p>ignored</p>",
			},
			want: []map[string]string{
				{"msg": "email (console)", "level": "INFO", "to": "ada@example.com", "subject": "Confirm your email", "lines": "2"},
				{"msg": "email (console) body", "level": "INFO", "line": "Hello,"},
				{"msg": "email (console) body", "level": "INFO", "line": "confirm: http://127.0.0.1:8080/account/confirm-email?userId=1&code=abc"},
			},
		},
		{
			name: "empty message",
			msg:  email.Message{},
			want: []map[string]string{{"msg": "email (console)", "to": "", "subject": "", "lines": "0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var records []map[string]string
			h := &captureHandler{records: &records}
			c := email.NewConsole(slog.New(h))
			if err := c.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if len(records) != len(tt.want) {
				t.Fatalf("got %d log records, want %d: %v", len(records), len(tt.want), records)
			}
			for i, want := range tt.want {
				for k, w := range want {
					if got, ok := records[i][k]; !ok || got != w {
						t.Errorf("record %d %s: got %q (present %v), want %q", i, k, got, ok, w)
					}
				}
			}
		})
	}
}

func TestConsoleNilLogger(t *testing.T) {
	c := email.NewConsole(nil)
	if got := c.Send(context.Background(), email.Message{To: "a@example.com"}); got != nil {
		t.Errorf("got %v, want nil", got)
	}
}

// captureHandler records each log record's message, level and attributes as
// strings.
type captureHandler struct {
	records *[]map[string]string
	mu      *sync.Mutex // when set, guards records
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.String()
		return true
	})
	if h.mu != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
	}
	*h.records = append(*h.records, rec)
	return nil
}

// With the text handler (development), an email reads as several short
// lines: recipient and subject first, then the body line by line, the link
// whole; the header names no body of hundreds of characters.
func TestConsoleTextHandlerIsReadable(t *testing.T) {
	var buf bytes.Buffer
	c := email.NewConsole(slog.New(slog.NewTextHandler(&buf, nil)))
	link := "http://localhost/account/reset-password?userId=0b6c1f9e-3d0c-4c8e-9a53-7f1f0c3b2a11&code=" + strings.Repeat("XYZ123", 20)
	text := "Hello,\n\nSomeone asked to reset the password of your account. If it was you, open this link within an hour:\n\n" + link + "\n\nIf it was not you, ignore this email.\n"
	if err := c.Send(context.Background(), email.Message{To: "b@example.com", Subject: "Reset your password", Text: text}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5 (header + 4 body lines):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "to=b@example.com") || !strings.Contains(lines[0], `subject="Reset your password"`) {
		t.Errorf("header: got %q, want the recipient and subject", lines[0])
	}
	if strings.Contains(lines[0], "Someone") {
		t.Errorf("header holds the body: %q", lines[0])
	}
	if !strings.Contains(lines[3], link) {
		t.Errorf("link line: got %q, want it to hold %q unbroken", lines[3], link)
	}
	for i, l := range lines {
		if strings.Contains(l, `\n`) {
			t.Errorf("line %d holds an escaped newline: %q", i, l)
		}
	}
}

// Concurrent sends never interleave one email's lines with another's.
func TestConsoleKeepsEachEmailTogether(t *testing.T) {
	var records []map[string]string
	h := &captureHandler{records: &records, mu: &sync.Mutex{}}
	c := email.NewConsole(slog.New(h))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			to := string(rune('a'+i)) + "@example.com"
			c.Send(context.Background(), email.Message{To: to, Text: "one " + to + "\ntwo " + to + "\nthree " + to})
		})
	}
	wg.Wait()
	for i := 0; i < len(records); i += 4 {
		to := records[i]["to"]
		for j := 1; j < 4; j++ {
			if !strings.HasSuffix(records[i+j]["line"], " "+to) {
				t.Fatalf("record %d: got %q, want a line of %s's email", i+j, records[i+j]["line"], to)
			}
		}
	}
}

func TestRecorder(t *testing.T) {
	a1 := email.Message{To: "a@example.com", Subject: "one"}
	b1 := email.Message{To: "b@example.com", Subject: "two"}
	a2 := email.Message{To: "a@example.com", Subject: "three"}
	tests := []struct {
		name      string
		send      []email.Message
		err       error
		lastTo    string
		wantLast  email.Message
		wantFound bool
		wantCount int
	}{
		{name: "empty", lastTo: "a@example.com", wantFound: false, wantCount: 0},
		{name: "last to a", send: []email.Message{a1, b1, a2}, lastTo: "a@example.com", wantLast: a2, wantFound: true, wantCount: 3},
		{name: "last to b", send: []email.Message{a1, b1, a2}, lastTo: "b@example.com", wantLast: b1, wantFound: true, wantCount: 3},
		{name: "last of all", send: []email.Message{a1, b1}, lastTo: "", wantLast: b1, wantFound: true, wantCount: 2},
		{name: "unknown recipient", send: []email.Message{a1}, lastTo: "c@example.com", wantFound: false, wantCount: 1},
		{name: "error records nothing", send: []email.Message{a1}, err: errors.New("down"), lastTo: "a@example.com", wantFound: false, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := email.NewRecorder()
			r.Err = tt.err
			for _, m := range tt.send {
				if got := r.Send(context.Background(), m); !errors.Is(got, tt.err) {
					t.Fatalf("Send: got %v, want %v", got, tt.err)
				}
			}
			got, found := r.Last(tt.lastTo)
			if found != tt.wantFound || got != tt.wantLast {
				t.Errorf("Last(%q): got %+v, %v, want %+v, %v", tt.lastTo, got, found, tt.wantLast, tt.wantFound)
			}
			if got := r.Count(); got != tt.wantCount {
				t.Errorf("Count: got %d, want %d", got, tt.wantCount)
			}
			if got := len(r.Messages()); got != tt.wantCount {
				t.Errorf("len(Messages): got %d, want %d", got, tt.wantCount)
			}
		})
	}
}

func TestRecorderMessagesIsCopy(t *testing.T) {
	r := email.NewRecorder()
	_ = r.Send(context.Background(), email.Message{To: "a@example.com", Subject: "original"})
	msgs := r.Messages()
	msgs[0].Subject = "changed"
	if got := r.Messages()[0].Subject; got != "original" {
		t.Errorf("got %q, want %q", got, "original")
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := email.NewRecorder()
	const senders = 50
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			_ = r.Send(context.Background(), email.Message{To: "a@example.com"})
			_ = r.Messages()
			_, _ = r.Last("a@example.com")
		})
	}
	wg.Wait()
	if got := r.Count(); got != senders {
		t.Errorf("got %d, want %d", got, senders)
	}
}

func TestTemplateRender(t *testing.T) {
	type data struct {
		Name string
		Link string
	}
	tests := []struct {
		name    string
		tmpl    email.Template
		data    any
		want    email.Message
		wantErr string
	}{
		{
			name: "text only",
			tmpl: email.Template{Subject: "Welcome, {{.Name}}", Text: "Hi {{.Name}}, open {{.Link}}"},
			data: data{Name: "Ada", Link: "http://x/confirm?code=1&u=2"},
			want: email.Message{To: "ada@example.com", Subject: "Welcome, Ada", Text: "Hi Ada, open http://x/confirm?code=1&u=2"},
		},
		{
			name: "html is escaped, text is not",
			tmpl: email.Template{Subject: "Hi", Text: "{{.Name}}", HTML: `<p>{{.Name}}</p><a href="{{.Link}}">go</a>`},
			data: data{Name: "<b>Ada</b>", Link: "http://x/?a=1&b=2"},
			want: email.Message{
				To:      "ada@example.com",
				Subject: "Hi",
				Text:    "<b>Ada</b>",
				HTML:    `<p>&lt;b&gt;Ada&lt;/b&gt;</p><a href="http://x/?a=1&amp;b=2">go</a>`,
			},
		},
		{
			name: "subject newlines collapsed",
			tmpl: email.Template{Subject: "\n  Reset\n your password  \n", Text: "t"},
			want: email.Message{To: "ada@example.com", Subject: "Reset your password", Text: "t"},
		},
		{
			name:    "missing map key",
			tmpl:    email.Template{Subject: "Hi {{.Nmae}}", Text: "t"},
			data:    map[string]string{"Name": "Ada"},
			wantErr: "render email subject",
		},
		{
			name:    "bad text syntax",
			tmpl:    email.Template{Subject: "s", Text: "{{.Name"},
			wantErr: "render email text",
		},
		{
			name:    "bad html syntax",
			tmpl:    email.Template{Subject: "s", Text: "t", HTML: "{{if}}"},
			wantErr: "render email html",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tmpl.Render("ada@example.com", tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
