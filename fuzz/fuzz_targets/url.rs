//! Arbitrary text into the Dubbo URL parser and the node-name codec
//! (`cargo +nightly fuzz run url`): no panic; encode→decode is the identity; a parsed URL
//! prints as a string that parses to the same print (the two exceptions Java shares are
//! allowed: a host holding `:` whose port was 0 or negative, and `default.` chains of three or
//! more).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::url::{Url, UrlError, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(decode(&encode(s)).as_deref(), Ok(s));
    let _ = Url::from_encoded(s);
    let Ok(url) = Url::parse(s) else {
        return;
    };
    let printed = url.to_string();
    assert_eq!(
        Url::from_encoded(&url.to_encoded()).map(|u| u.to_string()),
        Url::parse(&printed).map(|u| u.to_string())
    );
    let chained = url
        .params()
        .any(|(k, _)| k.starts_with("default.default.default."));
    let host_port = url.port() == 0 && url.host().contains(':');
    match Url::parse(&printed) {
        Ok(again) if !chained && !host_port => assert_eq!(again.to_string(), printed),
        Ok(_) => {}
        Err(e) => assert!(
            (host_port
                && matches!(
                    e,
                    UrlError::InvalidPort(_)
                        | UrlError::PortOutOfRange(_)
                        | UrlError::MissingProtocol
                ))
                || (chained && matches!(e, UrlError::InvalidSide(_))),
            "{s:?} -> {printed:?}: {e}"
        ),
    }
});
