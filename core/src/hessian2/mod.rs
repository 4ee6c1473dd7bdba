//! Hessian 2.0 as Dubbo's hessian-lite writes and reads it (`PROTOCOL.md` §11).

mod string;

pub use string::write_string;
