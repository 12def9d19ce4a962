// Package config loads RusToK's typed configuration: defaults in code, then the
// YAML file of the environment built into the binary, then an optional file on
// disk, then environment variables, and validates the result.
//
// # Sources and precedence
//
// Load builds one Config from these sources; a later source wins over an
// earlier one, key by key:
//
//  1. Default(): the development values, with the production changes of
//     Load's doc comment when the environment is production (no JWT secret,
//     no database URL);
//  2. the built-in <env>.yaml: development.yaml, test.yaml and
//     production.yaml of this folder, embedded in the binary, so that it
//     runs from any directory with no file at all (development.yaml equals
//     Default(); a test keeps them equal);
//  3. the file <dir>/<env>.yaml, when dir is not empty and the file exists
//     (a dir that does not exist is an error);
//  4. the shorthands DATABASE_URL (database.url), REDIS_URL (redis.url) and
//     RUSTOK_JWT_SECRET (auth.jwt.secret); an empty shorthand counts as unset;
//  5. RUSTOK_<PATH> variables, where PATH is the key in upper case with "__"
//     between levels and "_" kept inside a key name:
//     RUSTOK_SERVER__PORT=8080, RUSTOK_AUTH__JWT__ACCESS_TTL=10m,
//     RUSTOK_SETTINGS__RUSTOK__TENANT__BASE_DOMAINS=example.com,example.org.
//
// LoadWithSources also says where each key's value came from (Sources), and
// Config.Flatten lists every key with its value, secrets masked: together they
// are `rustok config print`.
//
// Environment variables come from the slice passed to Load, never from the
// process, so that tests can run in parallel with their own environments.
//
// # Values
//
// Durations are Go duration strings ("5s", "250ms", "1h30m"); a bare number is
// refused rather than read as nanoseconds. Lists are YAML sequences, or one
// comma-separated string (the only form an environment variable has). A key
// given with no value in YAML ("port:") keeps its default. Whole numbers, booleans
// and strings are checked strictly: a YAML number where a string is expected
// must be quoted, so that a long numeric secret is never silently reformatted.
//
// # Errors
//
// A key that is not part of Config (in the file or in a RUSTOK_ variable), a
// value of the wrong type and a value that Validate refuses all stop the load.
// Every problem is reported at once (errors.Join), each naming the key and,
// where known, the file or variable that set it. No error, String output or
// Redacted copy ever contains a secret (auth.jwt.secret, auth.jwt.keys,
// server.metrics.token, settings.rustok.email.smtp.password) or a secret of a
// URL (password, token, secret parameter): RedactURL masks those, and is the
// one redaction of the logs and errors of the whole program.
package config
