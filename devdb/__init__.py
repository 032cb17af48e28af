"""A local MongoDB wire-protocol server for development and tests: FerretDB 1.24 on SQLite,
built once from its Go module by `main.go` beside this file."""
