// Package browsertest runs a headless Chromium for tests, through chromedp,
// and records what a page does: every network request it makes, console
// errors, uncaught exceptions and Content-Security-Policy violations. Tests
// use it to check pages the way a browser sees them: that a page loads
// nothing from another origin, runs under its CSP, or is refused by CORS.
//
// The browser is Debian's chromium. New skips the test when there is none,
// unless RUSTOK_TEST_REQUIRE_BROWSER=1 (as CI sets), which makes it fail.
package browsertest
