use super::*;

/// The service a Java 3.3.6 provider (`tests/interop/java`, `JavaProvider`, port 35811)
/// registered, as its `getMetadataInfo` returned it (the provider URL less Java's
/// exclusions, plus `REGISTRY_CLUSTER`), and the revision it published in
/// `/services/tether-interop-java-provider/127.0.0.1:35811`.
const JAVA_SERVICE: &str = "dubbo://127.0.0.1:35811/org.apache.dubbo.demo.DemoService?REGISTRY_CLUSTER=default&addListener.1.callback=true&addListener.return=true&addListener.sent=true&application=tether-interop-java-provider&callbacks=3&deprecated=false&dubbo=2.0.2&dynamic=true&generic=false&interface=org.apache.dubbo.demo.DemoService&logger=slf4j&methods=addListener,boom,bytesAfter,echoAnimal,echoBigDecimal,echoBigInteger,echoBool,echoBoolArray,echoBoxedBool,echoBoxedByte,echoBoxedChar,echoBoxedDouble,echoBoxedFloat,echoBoxedInt,echoBoxedIntArray,echoBoxedLong,echoBoxedShort,echoByte,echoBytes,echoChar,echoCharArray,echoColor,echoColorArray,echoDate,echoDog,echoDouble,echoDoubleArray,echoDuration,echoFloat,echoInstant,echoInt,echoIntArray,echoIntKeyMap,echoIntMatrix,echoList,echoLocalDate,echoLocalDateTime,echoLocalTime,echoLong,echoLongArray,echoMap,echoNested,echoNode,echoObjectArray,echoObjectMap,echoOffsetDateTime,echoSet,echoShort,echoShortArray,echoString,echoStringArray,echoStringMatrix,echoUser,echoUserArray,echoZonedDateTime,fire,getAttachment,hang,join,log,notify,ping,removeListener,repeat,sayHello,sleep,threadName,throwCaused,throwException,throwTyped&notify.1.callback=true&notify.return=true&notify.sent=true&pid=395&prefer.serialization=hessian2&release=3.3.6&removeListener.1.callback=false&removeListener.return=true&removeListener.sent=true&revision=1.0.0&serialization=hessian2&service-name-mapping=true&side=provider&timestamp=1796468261659&version=1.0.0";
const JAVA_REVISION: &str = "4fd9d2fa02c63bf5d6e617a5add196c3";

#[test]
fn the_revision_is_the_one_java_computed() {
    let url = Url::parse(JAVA_SERVICE).unwrap();
    let info = MetadataInfo::from_urls("tether-interop-java-provider", [&url]);
    let service = &info.services["org.apache.dubbo.demo.DemoService:1.0.0:dubbo"];
    // `pid` and `timestamp` are left out, as Java does.
    assert!(!service.params.contains_key("pid") && !service.params.contains_key("timestamp"));
    assert_eq!(service.port, 35811);
    assert_eq!(info.revision.as_deref(), Some(JAVA_REVISION));
    assert_eq!(info.compute_revision(), JAVA_REVISION);
}

#[test]
fn keys_and_the_empty_revision() {
    let url =
        Url::parse("dubbo://10.0.0.7:20880/demo.Svc?group=g&version=2&interface=demo.Svc").unwrap();
    let service = ServiceInfo::from_url(&url);
    assert_eq!(service.service_key(), "g/demo.Svc:2");
    assert_eq!(service.match_key(), "g/demo.Svc:2:dubbo");
    let bare = ServiceInfo::from_url(&Url::parse("dubbo://10.0.0.7:20880/demo.Svc").unwrap());
    assert_eq!(bare.match_key(), "demo.Svc:dubbo");
    assert_eq!(
        MetadataInfo::new("app", []).revision.as_deref(),
        Some(EMPTY_REVISION)
    );
    // A change of any parameter changes the revision.
    let other = url
        .clone()
        .into_builder()
        .param("weight", "200")
        .build()
        .unwrap();
    assert_ne!(
        MetadataInfo::from_urls("app", [&url]).revision,
        MetadataInfo::from_urls("app", [&other]).revision
    );
}

#[test]
fn the_instance_json_is_the_one_java_writes() {
    let url = Url::parse(JAVA_SERVICE).unwrap();
    let info = MetadataInfo::from_urls("tether-interop-java-provider", [&url]);
    let instance = ServiceInstance::new(&info, "127.0.0.1", 35811, 1796468261659);
    // What a Java 3.3.6 provider wrote (its `release` is 3.3.6, tether's its own).
    let java = r#"{"name":"tether-interop-java-provider","id":"127.0.0.1:35811","address":"127.0.0.1","port":35811,"sslPort":null,"payload":{"@class":"org.apache.dubbo.registry.zookeeper.ZookeeperInstance","id":"127.0.0.1:35811","name":"tether-interop-java-provider","metadata":{"dubbo.endpoints":"[{\"port\":35811,\"protocol\":\"dubbo\"}]","dubbo.metadata-service.url-params":"{\"serialization\":\"hessian2\",\"prefer.serialization\":\"hessian2\",\"version\":\"1.0.0\",\"dubbo\":\"2.0.2\",\"release\":\"3.3.6\",\"side\":\"provider\",\"port\":\"35811\",\"protocol\":\"dubbo\"}","dubbo.metadata.revision":"4fd9d2fa02c63bf5d6e617a5add196c3","dubbo.metadata.storage-type":"local","meta-v":"1.0.0","timestamp":"1796468261659"}},"registrationTimeUTC":1796468262381,"serviceType":"DYNAMIC","uriSpec":null}"#;
    let ours = instance.to_json(1796468262381);
    let release = concat!("tether-", env!("CARGO_PKG_VERSION"));
    assert_eq!(ours, java.replace("3.3.6", release));
    assert_eq!(instance.interfaces, ["org.apache.dubbo.demo.DemoService"]);
    assert_eq!(instance.id(), "127.0.0.1:35811");
}

#[test]
fn json_strings_are_escaped() {
    let mut out = String::new();
    push_json_string(&mut out, "a\"b\\c\n\u{1}é");
    assert_eq!(out, r#""a\"b\\c\n\u0001é""#);
}

#[test]
fn the_service_answers_by_revision() {
    let metadata = MetadataService::new("app");
    let info = MetadataInfo::new("app", []);
    metadata.publish(info.clone());
    assert_eq!(metadata.lookup(EMPTY_REVISION), Some(info));
    assert_eq!(metadata.lookup("other"), None);
    let service = metadata.service();
    assert_eq!(
        service.key().to_string(),
        "app/org.apache.dubbo.metadata.MetadataService:1.0.0"
    );
}

#[test]
fn an_instance_reads_back_from_its_json() {
    let url = Url::parse(JAVA_SERVICE).unwrap();
    let info = MetadataInfo::from_urls("tether-interop-java-provider", [&url]);
    let instance = ServiceInstance::new(&info, "127.0.0.1", 35811, 1796468261659);
    let back = ServiceInstance::from_json(&instance.to_json(5)).unwrap();
    assert_eq!(back.interfaces, Vec::<String>::new());
    assert_eq!(
        back,
        ServiceInstance {
            interfaces: Vec::new(),
            ..instance
        }
    );
    assert_eq!(back.revision(), Some(JAVA_REVISION));
    assert_eq!(back.storage_type(), "local");
    assert_eq!(back.endpoint_port("dubbo"), 35811);
    assert_eq!(back.metadata_service_address(), ("dubbo".to_owned(), 35811));
    let urls = info.provider_urls(&back);
    assert_eq!(urls.len(), 1);
    assert_eq!(urls[0].address(), "127.0.0.1:35811");
    assert_eq!(urls[0].interface(), "org.apache.dubbo.demo.DemoService");
    assert_eq!(urls[0].version(), Some("1.0.0"));
    assert!(matches!(
        ServiceInstance::from_json("{\"name\":\"a\"}"),
        Err(InstanceError::Missing("address"))
    ));
    assert!(matches!(
        ServiceInstance::from_json("{"),
        Err(InstanceError::Json(_))
    ));
}
