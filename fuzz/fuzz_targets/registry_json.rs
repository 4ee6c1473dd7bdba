//! Arbitrary text into the readers of what application-level providers write in a registry
//! (`cargo +nightly fuzz run registry_json`): instance nodes (`ServiceInstance::from_json`)
//! and remote metadata (`MetadataInfo::from_json`). No panic; metadata that reads prints
//! as JSON that reads back to the same metadata; the provider URLs of any instance of it
//! build without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::metadata::{MetadataInfo, ServiceInstance};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let instance = ServiceInstance::from_json(text).ok();
    if let Some(instance) = &instance {
        let _ = instance.revision();
        let _ = instance.endpoint_port("dubbo");
        let _ = instance.metadata_service_address();
        assert_eq!(
            ServiceInstance::from_json(&instance.to_json(1)).map(|i| i.metadata),
            Ok(instance.metadata.clone())
        );
    }
    let Ok(info) = MetadataInfo::from_json(text) else {
        return;
    };
    assert_eq!(MetadataInfo::from_json(&info.to_json()).as_ref(), Ok(&info));
    let at = instance.unwrap_or_else(|| ServiceInstance::new(&info, "10.0.0.7", 20880, 1));
    let _ = info.provider_urls(&at);
});
