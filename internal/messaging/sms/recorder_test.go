package sms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestRecorder(t *testing.T) {
	first := Message{To: "+14155550123", Body: "Your code is 111111", Purpose: "phone-verification"}
	other := Message{To: "+447700900123", Body: "Your code is 222222", Purpose: "phone-verification"}
	second := Message{To: "+14155550123", Body: "Your code is 333333", Purpose: "phone-verification"}

	tests := []struct {
		name      string
		err       error
		send      []Message
		lastTo    string
		wantLast  Message
		wantFound bool
		wantCount int
	}{
		{
			name:      "nothing sent",
			lastTo:    "+14155550123",
			wantCount: 0,
		},
		{
			name:      "last message to a recipient wins",
			send:      []Message{first, other, second},
			lastTo:    "+14155550123",
			wantLast:  second,
			wantFound: true,
			wantCount: 3,
		},
		{
			name:      "other recipient",
			send:      []Message{first, other, second},
			lastTo:    "+447700900123",
			wantLast:  other,
			wantFound: true,
			wantCount: 3,
		},
		{
			name:      "unknown recipient",
			send:      []Message{first},
			lastTo:    "+33612345678",
			wantCount: 1,
		},
		{
			name:      "Err set records nothing",
			err:       errors.New("provider down"),
			send:      []Message{first, second},
			lastTo:    "+14155550123",
			wantCount: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder()
			r.Err = tt.err
			for _, m := range tt.send {
				if err := r.Send(context.Background(), m); !errors.Is(err, tt.err) {
					t.Fatalf("Send: got error %v, want %v", err, tt.err)
				}
			}

			if got := r.Count(); got != tt.wantCount {
				t.Errorf("Count: got %d, want %d", got, tt.wantCount)
			}
			if got := len(r.Messages()); got != tt.wantCount {
				t.Errorf("len(Messages): got %d, want %d", got, tt.wantCount)
			}
			got, found := r.Last(tt.lastTo)
			if found != tt.wantFound || got != tt.wantLast {
				t.Errorf("Last(%q): got %+v, %v, want %+v, %v", tt.lastTo, got, found, tt.wantLast, tt.wantFound)
			}
		})
	}
}

func TestRecorderMessagesIsACopy(t *testing.T) {
	r := NewRecorder()
	want := Message{To: "+14155550123", Body: "Your code is 123456"}
	if err := r.Send(context.Background(), want); err != nil {
		t.Fatalf("Send: got error %v, want nil", err)
	}

	msgs := r.Messages()
	msgs[0].Body = "tampered"

	if got := r.Messages()[0]; got != want {
		t.Errorf("Messages()[0] after editing the copy: got %+v, want %+v", got, want)
	}
}

func TestRecorderConcurrentSend(t *testing.T) {
	const senders = 50
	r := NewRecorder()
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			m := Message{To: fmt.Sprintf("+1415555%04d", i), Body: "hi"}
			if err := r.Send(context.Background(), m); err != nil {
				t.Errorf("Send: got error %v, want nil", err)
			}
			r.Count()
			r.Last(m.To)
		})
	}
	wg.Wait()

	if got := r.Count(); got != senders {
		t.Errorf("Count: got %d, want %d", got, senders)
	}
}
