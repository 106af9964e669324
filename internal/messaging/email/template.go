package email

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// Template renders a Message. Subject and Text are text/template sources;
// HTML, optional, is an html/template source, so values are escaped. A key
// missing from a map given as data is an error, not "<no value>".
type Template struct {
	// Subject is the subject line template; runs of white space in the
	// result, newlines included, become single spaces.
	Subject string
	// Text is the plain-text body template.
	Text string
	// HTML is the optional HTML body template; empty means no HTML part.
	HTML string
}

// Render executes the templates with data and returns a Message to to.
func (t Template) Render(to string, data any) (Message, error) {
	subject, err := renderText("subject", t.Subject, data)
	if err != nil {
		return Message{}, err
	}
	text, err := renderText("text", t.Text, data)
	if err != nil {
		return Message{}, err
	}
	m := Message{To: to, Subject: strings.Join(strings.Fields(subject), " "), Text: text}
	if t.HTML != "" {
		tmpl, err := htmltemplate.New("html").Option("missingkey=error").Parse(t.HTML)
		if err != nil {
			return Message{}, fmt.Errorf("render email html: %w", err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return Message{}, fmt.Errorf("render email html: %w", err)
		}
		m.HTML = b.String()
	}
	return m, nil
}

func renderText(name, src string, data any) (string, error) {
	tmpl, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", fmt.Errorf("render email %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render email %s: %w", name, err)
	}
	return b.String(), nil
}
