//! Test support for tether: a deterministic in-memory pair of connections.
