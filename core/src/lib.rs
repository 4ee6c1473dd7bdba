//! tether-core: the sans-IO heart of tether, Apache Dubbo's `dubbo://` protocol for Rust.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod frame;
pub mod hessian2;
pub mod message;
