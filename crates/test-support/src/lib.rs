//! Test helpers shared by the mcp-guard crates' integration tests: a real
//! `redis-server` started on a free loopback port. Not published.
