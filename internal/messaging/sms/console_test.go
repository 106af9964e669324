package sms

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestConsoleSend(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{
			name: "verification code",
			msg:  Message{To: "+14155550123", Body: "Your code is 123456", Purpose: "phone-verification"},
			want: `level=INFO msg="sms (console)" to=+14155550123 body="Your code is 123456" purpose=phone-verification` + "\n",
		},
		{
			name: "multi-line body stays on one line",
			msg:  Message{To: "+447700900123", Body: "Code: 654321\nValid 10 minutes", Purpose: "phone-verification"},
			want: `level=INFO msg="sms (console)" to=+447700900123 body="Code: 654321\nValid 10 minutes" purpose=phone-verification` + "\n",
		},
		{
			name: "empty purpose is still logged",
			msg:  Message{To: "+14155550123", Body: "hello"},
			want: `level=INFO msg="sms (console)" to=+14155550123 body=hello purpose=""` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
				ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
					if len(groups) == 0 && a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			}))

			if err := NewConsole(logger).Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: got error %v, want nil", err)
			}

			got := buf.String()
			if got != tt.want {
				t.Errorf("log output: got %q, want %q", got, tt.want)
			}
			if n := strings.Count(got, "\n"); n != 1 {
				t.Errorf("log records: got %d, want 1", n)
			}
		})
	}
}

func TestNewConsoleNilLogger(t *testing.T) {
	c := NewConsole(nil)
	if c.logger == nil {
		t.Fatalf("logger: got nil, want slog.Default()")
	}
}
