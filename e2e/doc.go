// Package e2e drives the whole application in a real browser: headless
// Chromium, controlled through chromedp, against a server that
// internal/app/apptest starts on a fresh database with recording senders.
//
// The tests need Chromium at /usr/bin/chromium, or at the path in
// CHROME_PATH. Without one they skip, except on CI (CI=true), where a
// missing browser fails them. With SIMPLEMODULE_UPDATE_SCREENSHOTS=1 they
// write their screenshots to docs/screenshots; otherwise the screenshots go
// to a temporary directory, so a test run never changes the tree.
package e2e
