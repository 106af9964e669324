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
		want map[string]string
	}{
		{
			name: "text body with link",
			msg: email.Message{
				To:      "ada@example.com",
				Subject: "Confirm your email",
				Text:    "Hello,\nconfirm: http://127.0.0.1:8080/account/confirm-email?userId=1&code=abc\n",
				HTML:    "<p>ignored</p>",
			},
			want: map[string]string{
				"msg":     "email (console)",
				"level":   "INFO",
				"to":      "ada@example.com",
				"subject": "Confirm your email",
				"body":    "Hello,\nconfirm: http://127.0.0.1:8080/account/confirm-email?userId=1&code=abc\n",
			},
		},
		{
			name: "empty message",
			msg:  email.Message{},
			want: map[string]string{"msg": "email (console)", "to": "", "subject": "", "body": ""},
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
			if len(records) != 1 {
				t.Fatalf("got %d log records, want 1", len(records))
			}
			for k, want := range tt.want {
				if got, ok := records[0][k]; !ok || got != want {
					t.Errorf("%s: got %q (present %v), want %q", k, got, ok, want)
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
	*h.records = append(*h.records, rec)
	return nil
}

func TestConsoleTextHandlerHoldsWholeBody(t *testing.T) {
	var buf bytes.Buffer
	c := email.NewConsole(slog.New(slog.NewTextHandler(&buf, nil)))
	link := "http://localhost/account/reset-password?code=XYZ123"
	if err := c.Send(context.Background(), email.Message{To: "b@example.com", Subject: "Reset", Text: "Reset: " + link}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Errorf("got %d lines, want 1", got)
	}
	if got := buf.String(); !strings.Contains(got, link) {
		t.Errorf("got %q, want it to contain %q", got, link)
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
