// Package mail sends the product's email: the Mailer contract, three drivers
// behind it (smtp, file, log) and the embedded templates of the messages the
// product sends (RenderPasswordReset). Reactors call Mailer.Send once per
// event that asks for a message, for example once per
// user.password_reset_requested.
//
// # Drivers
//
// New chooses the driver named by Options.Driver (settings.rustok.email.driver):
//
//   - smtp delivers through an SMTP server with github.com/wneessen/go-mail:
//     implicit TLS when SMTP.TLS is set and the port is 465, mandatory
//     STARTTLS on any other port, no TLS at all when SMTP.TLS is false (for
//     a local relay). With a username it authenticates with AUTH PLAIN or
//     LOGIN, which are refused on an unencrypted connection to any host but
//     localhost. Send's context bounds the whole exchange, not only the dial.
//   - file writes each message as an RFC 5322 .eml file into Options.FileDir,
//     for development and tests.
//   - log writes each message, body included, as one structured log line.
//     For development only: see below.
//
// # Message IDs and exactly once
//
// A Message carries an ID chosen by the caller and stable across retries:
// derive it from the id of the event that asked for the message. It becomes
// the Message-ID header, <ID@domain of From>, in every driver. The file
// driver names the file <ID>.eml and creates it at most once: sending an ID
// that was already written is a no-op that returns nil, so a reactor that
// crashes after Send and handles the event again does not write a second
// message. SMTP cannot offer that: a crash between the server's acceptance
// and the reactor's checkpoint sends the message again, with the same
// Message-ID, which lets mail clients that deduplicate show it once.
//
// # Validation
//
// Every driver validates the message before doing anything
// (Message.Validate): To must be exactly one address, no header field may
// hold CR, LF or another control character, the ID is a dot-atom of at most
// MaxIDLen letters, digits, '.', '_' and '-', Text is required. A refused
// message is a *MessageError that matches ErrInvalidMessage and one of the
// reasons (ErrHeaderInjection, ErrInvalidRecipient, ...); nothing is written
// or sent. Error messages never quote the recipient or the body.
//
// # Secrets
//
// A password-reset message holds a secret link. Errors of this package never
// quote a body, a link or the SMTP password (the smtp driver removes the
// password from any error text, such as a server reply that echoes it). The
// log driver, by design, writes the body to the log: it must not be used in
// production, where anyone who reads the logs could reset any password.
package mail
