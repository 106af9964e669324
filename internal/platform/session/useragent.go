package session

import "strings"

// Browser says in words which browser and system a User-Agent header
// names ("Firefox on Windows", "Safari on iPhone"), so a person can
// recognise their sessions; "Unknown browser" when it names none we know.
// It reads only the product tokens that matter for that and is no
// feature-detection: a browser that lies about itself is shown as it lies.
func Browser(ua string) string {
	b, os := browserName(ua), systemName(ua)
	switch {
	case b == "" && os == "":
		return "Unknown browser"
	case b == "":
		return "Unknown browser on " + os
	case os == "":
		return b
	}
	return b + " on " + os
}

// browserRules are checked in order: browsers built on Chrome or Safari
// name those too, so the specific tokens come first.
var browserRules = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edge/", "Edge"},
	{"OPR/", "Opera"}, {"OPiOS/", "Opera"}, {"Opera", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"YaBrowser/", "Yandex Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"Version/", "Safari"}, // with Safari/ checked below
	{"MSIE ", "Internet Explorer"}, {"Trident/", "Internet Explorer"},
	{"curl/", "curl"},
}

func browserName(ua string) string {
	for _, r := range browserRules {
		if !strings.Contains(ua, r.token) {
			continue
		}
		if r.name == "Safari" && !strings.Contains(ua, "Safari/") {
			continue
		}
		return r.name
	}
	return ""
}

// systemRules are checked in order: iOS devices say "like Mac OS X" and
// Android says "Linux", so the specific tokens come first.
var systemRules = []struct{ token, name string }{
	{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"iPod", "iPod"},
	{"Android", "Android"},
	{"Windows", "Windows"},
	{"CrOS", "ChromeOS"},
	{"Macintosh", "macOS"}, {"Mac OS X", "macOS"},
	{"Linux", "Linux"}, {"X11", "Linux"},
}

func systemName(ua string) string {
	for _, r := range systemRules {
		if strings.Contains(ua, r.token) {
			return r.name
		}
	}
	return ""
}
