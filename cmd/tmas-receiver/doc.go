// Command tmas-receiver runs the reference TMAS headquarters receiver (package
// cmd/tmas-receiver/receiver) as a process, for end-to-end tests and manual trials:
//
//	tmas-receiver --listen 127.0.0.1:0 --token-file token.txt --admin
//	tmas-receiver --listen :8700 --store postgres://hq@db/tmas --tokens-file agents.tokens
//
// See README.md beside this file.
//
// It prints "listening on http://ADDR" on stdout once it accepts connections
// and stops gracefully on SIGINT or SIGTERM. Exit status: 0 after a clean
// stop, 1 on a failure, 2 on bad usage.
//
// It is a thin main: flags in, one receiver.Receiver served until a signal.
// It must never hold behaviour of its own that the in-process receiver (used
// by `storeagent demo`) would lack, and must never print a token.
package main
