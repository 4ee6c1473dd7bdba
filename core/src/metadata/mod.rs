//! Dubbo 3 application-level service discovery, provider side (`docs/estate.md` §1.6): the
//! application's [`MetadataInfo`] and its revision, the [`ServiceInstance`] a registry
//! publishes under `/services/<application>/<host>:<port>`, and the
//! `org.apache.dubbo.metadata.MetadataService` a Java 3 consumer calls to learn which
//! services an instance of a revision serves ([`MetadataService`]).
//!
//! Why: a Java 3 consumer with default settings (migration step `APPLICATION_FIRST`,
//! threshold 0) uses only application-level addresses as soon as one provider of the
//! interface registers at that level, and ignores providers registered at interface level
//! only. A tether provider that registers both ways ([`RegisterMode::All`], Java's default)
//! is called like a Java one.
//!
//! What the consumer does with the pieces, in Java 3.3: it reads
//! `/dubbo/mapping/<interface>` (application names), lists `/services/<application>`,
//! parses each instance's JSON, and for each new `dubbo.metadata.revision` calls
//! `getMetadataInfo(revision)` on the instance (`dubbo.metadata.storage-type=local`) over
//! the protocol and port of `dubbo.metadata-service.url-params`, group = the application,
//! version `1.0.0`. The instance serves the interfaces whose `ServiceInfo` match the
//! consumer's service key and protocol, at the instance's address and the port its
//! `dubbo.endpoints` names for that protocol.
//!
//! [`RegisterMode::All`]: crate::registry::RegisterMode::All

mod json;
mod md5;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::provider::{Context, Service};
use crate::registry::DUBBO_VERSION;
use crate::url::Url;

/// The interface of Java's metadata service.
pub const METADATA_SERVICE: &str = "org.apache.dubbo.metadata.MetadataService";
/// The version Java exports [`METADATA_SERVICE`] with (its group is the application name).
pub const METADATA_SERVICE_VERSION: &str = "1.0.0";
/// The revision of an application that exports nothing (`RevisionResolver.EMPTY_REVISION`).
pub const EMPTY_REVISION: &str = "0";

/// URL parameters Java leaves out of a [`ServiceInfo`] (`DefaultMetadataParamsFilter`'s
/// service exclusions): a key equal to one of them (ignoring case) or containing
/// `.<one of them>`.
const EXCLUDED_SERVICE_PARAMS: &[&str] = &[
    "monitor",
    "bind.ip",
    "bind.port",
    "qos.enable",
    "qos.host",
    "qos.port",
    "qos.accept.foreign.ip",
    "validation",
    "interfaces",
    "pid",
    "timestamp",
    "heartbeat.timeout",
    "ipv6",
];

/// One exported service of an application, as Java's `MetadataInfo.ServiceInfo` (its
/// Hessian class, `org.apache.dubbo.metadata.MetadataInfo$ServiceInfo`, with the same
/// fields).
#[tether_derive::java(
    "org.apache.dubbo.metadata.MetadataInfo$ServiceInfo",
    crate = tether_hessian2
)]
/// ```
/// # use tether_core::metadata::ServiceInfo;
/// # use tether_core::url::Url;
/// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
/// let info = ServiceInfo::from_url(&url);
/// assert_eq!(info.name.as_deref(), Some("demo.Greeter"));
/// assert_eq!(info.port, 20880);
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// The interface name.
    pub name: Option<String>,
    /// The service group, if any.
    pub group: Option<String>,
    /// The service version, if any.
    pub version: Option<String>,
    /// The protocol (`dubbo`).
    pub protocol: Option<String>,
    /// The port the service is served on.
    pub port: i32,
    /// The URL path (usually the interface name).
    pub path: Option<String>,
    /// The provider URL's parameters, less those Java leaves out (`pid`, `timestamp`...).
    pub params: BTreeMap<String, String>,
}

impl ServiceInfo {
    /// The service a provider URL describes (Java's `ServiceInfo(URL, filters)` with its
    /// default filter).
    ///
    /// ```
    /// # use tether_core::metadata::ServiceInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// let info = ServiceInfo::from_url(&url);
    /// assert!(!info.params.contains_key("pid")); // left out, as in Java
    /// assert_eq!(info.params["version"], "1.0.0");
    /// ```
    pub fn from_url(url: &Url) -> Self {
        let params = url
            .params()
            .filter(|(key, _)| {
                !EXCLUDED_SERVICE_PARAMS.iter().any(|excluded| {
                    key.eq_ignore_ascii_case(excluded) || key.contains(&format!(".{excluded}"))
                })
            })
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self {
            name: Some(url.interface().to_owned()),
            group: url.group().map(str::to_owned),
            version: url.version().map(str::to_owned),
            protocol: Some(url.protocol().to_owned()),
            port: i32::from(url.port()),
            path: Some(url.path().to_owned()),
            params,
        }
    }

    /// `group/name:version`, each part only if present (Java's `URL.buildKey`).
    ///
    /// ```
    /// # use tether_core::metadata::ServiceInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// assert_eq!(ServiceInfo::from_url(&url).service_key(), "blue/demo.Greeter:1.0.0");
    /// ```
    pub fn service_key(&self) -> String {
        let mut key = String::new();
        if let Some(group) = self.group.as_deref().filter(|g| !g.is_empty()) {
            key.push_str(group);
            key.push('/');
        }
        key.push_str(self.name.as_deref().unwrap_or("null"));
        if let Some(version) = self.version.as_deref().filter(|v| !v.is_empty()) {
            key.push(':');
            key.push_str(version);
        }
        key
    }

    /// The service key and `:protocol`: the key of [`MetadataInfo::services`].
    ///
    /// ```
    /// # use tether_core::metadata::ServiceInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// assert_eq!(ServiceInfo::from_url(&url).match_key(), "blue/demo.Greeter:1.0.0:dubbo");
    /// ```
    pub fn match_key(&self) -> String {
        match self.protocol.as_deref().filter(|p| !p.is_empty()) {
            Some(protocol) => format!("{}:{protocol}", self.service_key()),
            None => self.service_key(),
        }
    }

    /// What Java feeds the revision with for this service (`toDescString`): the match key,
    /// the port, the path and the parameters as a Java `TreeMap` prints them.
    fn desc(&self) -> String {
        let mut desc = format!(
            "{}{}{}{{",
            self.match_key(),
            self.port,
            self.path.as_deref().unwrap_or("null")
        );
        for (i, (key, value)) in self.params.iter().enumerate() {
            if i > 0 {
                desc.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(desc, "{key}={value}");
        }
        desc.push('}');
        desc
    }
}

/// What an application serves, at one revision: Java's `org.apache.dubbo.metadata.MetadataInfo`
/// (its Hessian class and fields), the answer of `MetadataService.getMetadataInfo`.
///
/// ```
/// use tether_core::metadata::{MetadataInfo, ServiceInfo};
/// use tether_core::registry::ProviderSpec;
///
/// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880)
///     .application("greeter")
///     .version("1.0.0")
///     .to_url(1)?;
/// let info = MetadataInfo::new("greeter", [ServiceInfo::from_url(&url)]);
/// assert_eq!(info.revision.as_deref().map(str::len), Some(32));
/// assert!(info.services.contains_key("org.example.Greeter:1.0.0:dubbo"));
/// # Ok::<(), tether_core::url::UrlError>(())
/// ```
#[tether_derive::java("org.apache.dubbo.metadata.MetadataInfo", crate = tether_hessian2)]
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetadataInfo {
    /// The application name.
    pub app: Option<String>,
    /// [`revision`](Self::compute_revision) of the services.
    pub revision: Option<String>,
    /// By [`ServiceInfo::match_key`].
    pub services: BTreeMap<String, ServiceInfo>,
}

impl MetadataInfo {
    /// The metadata of application `app` serving `services`, its revision computed.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, EMPTY_REVISION};
    /// let info = MetadataInfo::new("greeter", []);
    /// assert_eq!(info.app.as_deref(), Some("greeter"));
    /// assert_eq!(info.revision.as_deref(), Some(EMPTY_REVISION));
    /// ```
    pub fn new(app: impl Into<String>, services: impl IntoIterator<Item = ServiceInfo>) -> Self {
        let mut info = Self {
            app: Some(app.into()),
            revision: None,
            services: services.into_iter().map(|s| (s.match_key(), s)).collect(),
        };
        info.revision = Some(info.compute_revision());
        info
    }

    /// The metadata of application `app` serving the services of provider `urls`.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// assert_eq!(info.services.len(), 1);
    /// ```
    pub fn from_urls<'a>(app: impl Into<String>, urls: impl IntoIterator<Item = &'a Url>) -> Self {
        Self::new(app, urls.into_iter().map(ServiceInfo::from_url))
    }

    /// The revision Java computes for these services (`MetadataInfo.calAndGetRevision`):
    /// MD5, in lowercase hex, of the application name followed by each service's match key,
    /// port, path and parameters, in match-key order; [`EMPTY_REVISION`] without services.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// assert_eq!(info.revision, Some(info.compute_revision()));
    /// assert_eq!(info.compute_revision().len(), 32);
    /// ```
    pub fn compute_revision(&self) -> String {
        if self.services.is_empty() {
            return EMPTY_REVISION.to_owned();
        }
        let mut text = self.app.clone().unwrap_or_else(|| "null".into());
        for service in self.services.values() {
            text.push_str(&service.desc());
        }
        md5::hex(text.as_bytes())
    }

    /// The provider URLs `instance` serves by this metadata: one per service, at the
    /// instance's address and the port its endpoints give for the service's protocol, with
    /// the service's parameters (what a Java consumer's `InstanceAddressURL` stands for).
    /// Filter them with [`Url::is_match`] as interface-level URLs.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// let instance = ServiceInstance::new(&info, "10.0.0.8", 20881, 1);
    /// let urls = info.provider_urls(&instance);
    /// assert_eq!(urls[0].address(), "10.0.0.8:20881");
    /// ```
    pub fn provider_urls(&self, instance: &ServiceInstance) -> Vec<Url> {
        self.services
            .values()
            .filter_map(|service| {
                let protocol = service.protocol.as_deref().unwrap_or("dubbo");
                let path = service.path.as_deref().or(service.name.as_deref())?;
                // The service's own fields stand in for parameters its `params` lack (a
                // dubbo-go provider's params carry no `group`), as Java's
                // `InstanceAddressURL` falls back to them.
                let implied = [
                    ("interface", service.name.as_deref()),
                    ("group", service.group.as_deref()),
                    ("version", service.version.as_deref()),
                ];
                let implied = implied.into_iter().filter_map(|(key, value)| {
                    let value = value.filter(|_| !service.params.contains_key(key))?;
                    Some((key, value))
                });
                Url::builder(protocol)
                    .host(instance.host.as_str())
                    .port(instance.endpoint_port(protocol))
                    .path(path)
                    .params(service.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .params(implied)
                    .build()
                    .ok()
            })
            .collect()
    }

    /// The interfaces it serves, once each.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataInfo;
    /// # use tether_core::url::Url;
    /// let a = Url::parse("dubbo://h:1/demo.Greeter?version=1").unwrap();
    /// let b = Url::parse("dubbo://h:1/demo.Greeter?version=2").unwrap();
    /// assert_eq!(MetadataInfo::from_urls("greeter", [&a, &b]).interfaces(), ["demo.Greeter"]);
    /// ```
    pub fn interfaces(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .services
            .values()
            .filter_map(|s| s.name.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The JSON [`from_json`](Self::from_json) reads, as dubbo-go stores it
    /// (`storage-type=remote`): `app`, `revision`, and `services` by match key, each with
    /// `name`, `group` (if any), `version` (if any), `protocol`, `port`, `path` and `params`.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataInfo;
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// assert_eq!(MetadataInfo::from_json(&info.to_json()), Ok(info));
    /// ```
    pub fn to_json(&self) -> String {
        let mut json = String::from("{");
        let mut first = true;
        for (key, value) in [("app", &self.app), ("revision", &self.revision)] {
            if let Some(value) = value {
                if !first {
                    json.push(',');
                }
                first = false;
                push_json_string(&mut json, key);
                json.push(':');
                push_json_string(&mut json, value);
            }
        }
        if !first {
            json.push(',');
        }
        json.push_str("\"services\":{");
        for (i, (key, service)) in self.services.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            push_json_string(&mut json, key);
            json.push_str(":{");
            let fields = [
                ("name", &service.name),
                ("group", &service.group),
                ("version", &service.version),
                ("protocol", &service.protocol),
                ("path", &service.path),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    push_json_string(&mut json, name);
                    json.push(':');
                    push_json_string(&mut json, value);
                    json.push(',');
                }
            }
            let _ = write!(json, "\"port\":{},\"params\":", service.port);
            json.push_str(&json_object(
                service.params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ));
            json.push('}');
        }
        json.push_str("}}");
        json
    }

    /// The metadata a provider stored in the registry as JSON (`storage-type=remote`: what
    /// dubbo-go writes at `/dubbo/<app>/<revision>` and Java at
    /// `/dubbo/metadata/<app>/<revision>`): `app`, `revision` and `services`, an object of
    /// services by match key, each with `name`, `group`, `version`, `protocol`, `port`,
    /// `path` and `params`. Members it does not know are ignored; a service's port may be
    /// a number or a string.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataInfo;
    /// let json = r#"{"app":"greeter","revision":"abc","services":{"demo.Greeter:1.0.0:dubbo":
    ///     {"name":"demo.Greeter","version":"1.0.0","protocol":"dubbo","port":20000,
    ///      "path":"demo.Greeter","params":{"methods":"greet"}}}}"#;
    /// let info = MetadataInfo::from_json(json).unwrap();
    /// assert_eq!(info.revision.as_deref(), Some("abc"));
    /// let service = &info.services["demo.Greeter:1.0.0:dubbo"];
    /// assert_eq!((service.port, service.params["methods"].as_str()), (20000, "greet"));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, InstanceError> {
        let value = json::parse(json).map_err(|e| InstanceError::Json(e.to_string()))?;
        let text = |value: &json::Value, name: &str| {
            value
                .get(name)
                .and_then(json::Value::as_str)
                .map(str::to_owned)
        };
        if !matches!(value, json::Value::Object(_)) {
            return Err(InstanceError::Json("metadata is not a json object".into()));
        }
        let mut services = BTreeMap::new();
        match value.get("services") {
            Some(json::Value::Object(members)) => {
                for (key, service) in members {
                    let mut params = BTreeMap::new();
                    if let Some(json::Value::Object(entries)) = service.get("params") {
                        for (k, v) in entries {
                            if let Some(v) = v.as_str() {
                                params.insert(k.clone(), v.to_owned());
                            }
                        }
                    }
                    let port = (service.get("port"))
                        .and_then(json::Value::as_i64)
                        .and_then(|p| i32::try_from(p).ok())
                        .unwrap_or(0);
                    let info = ServiceInfo {
                        name: text(service, "name"),
                        group: text(service, "group").filter(|g| !g.is_empty()),
                        version: text(service, "version").filter(|v| !v.is_empty()),
                        protocol: text(service, "protocol"),
                        port,
                        path: text(service, "path"),
                        params,
                    };
                    if info.name.is_none() && info.path.is_none() {
                        return Err(InstanceError::Missing("services.name"));
                    }
                    services.insert(key.clone(), info);
                }
            }
            Some(json::Value::Null) | None => {}
            Some(_) => return Err(InstanceError::Missing("services")),
        }
        Ok(Self {
            app: text(&value, "app"),
            revision: text(&value, "revision"),
            services,
        })
    }
}

/// An application instance as a registry publishes it for application-level discovery:
/// Curator's `ServiceInstance` with Dubbo's `ZookeeperInstance` payload, whose metadata
/// names the revision and how to reach the [`MetadataService`].
///
/// ```
/// use tether_core::metadata::{MetadataInfo, ServiceInstance};
///
/// let info = MetadataInfo::new("greeter", []);
/// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
/// assert_eq!(instance.id(), "10.0.0.7:20880");
/// assert_eq!(instance.metadata["dubbo.metadata.revision"], "0");
/// assert_eq!(instance.metadata["dubbo.endpoints"], r#"[{"port":20880,"protocol":"dubbo"}]"#);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ServiceInstance {
    /// The application name (the node's parent, `/services/<app>`).
    pub app: String,
    /// The address consumers connect to.
    pub host: String,
    /// The port of the `dubbo` protocol (and of the metadata service).
    pub port: u16,
    /// The instance metadata (`dubbo.metadata.revision`, `dubbo.endpoints`...).
    pub metadata: BTreeMap<String, String>,
    /// The interfaces the instance serves, for the interface→application mapping.
    pub interfaces: Vec<String>,
}

impl ServiceInstance {
    /// The instance of `info`'s application at `host:port` (dubbo protocol, metadata service
    /// on the same port, `storage-type=local`), exported at `timestamp_ms` (milliseconds
    /// since the Unix epoch: the caller reads the clock). Metadata keys as a Java 3.3.6
    /// provider writes them.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1_700_000_000_000);
    /// assert_eq!(instance.app, "greeter");
    /// assert_eq!(instance.metadata["timestamp"], "1700000000000");
    /// ```
    pub fn new(info: &MetadataInfo, host: impl Into<String>, port: u16, timestamp_ms: u64) -> Self {
        let release = concat!("tether-", env!("CARGO_PKG_VERSION"));
        let mut metadata = BTreeMap::new();
        metadata.insert(
            "dubbo.endpoints".to_owned(),
            format!(r#"[{{"port":{port},"protocol":"dubbo"}}]"#),
        );
        // Java parses this object into the URL it calls the metadata service with.
        let url_params = json_object([
            ("serialization", "hessian2"),
            ("prefer.serialization", "hessian2"),
            ("version", METADATA_SERVICE_VERSION),
            ("dubbo", DUBBO_VERSION),
            ("release", release),
            ("side", "provider"),
            ("port", &port.to_string()),
            ("protocol", "dubbo"),
        ]);
        metadata.insert("dubbo.metadata-service.url-params".to_owned(), url_params);
        metadata.insert(
            "dubbo.metadata.revision".to_owned(),
            info.revision
                .clone()
                .unwrap_or_else(|| info.compute_revision()),
        );
        metadata.insert("dubbo.metadata.storage-type".to_owned(), "local".to_owned());
        // MetadataService v1 (Hessian over dubbo://), not the protobuf v2 ("2.0.0").
        metadata.insert("meta-v".to_owned(), "1.0.0".to_owned());
        metadata.insert("timestamp".to_owned(), timestamp_ms.to_string());
        Self {
            app: info.app.clone().unwrap_or_default(),
            host: host.into(),
            port,
            metadata,
            interfaces: info.interfaces().into_iter().map(str::to_owned).collect(),
        }
    }

    /// `host:port`: the node name under `/services/<app>` and the instance id.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// assert_eq!(ServiceInstance::new(&info, "10.0.0.7", 20880, 1).id(), "10.0.0.7:20880");
    /// assert_eq!(ServiceInstance::new(&info, "::1", 20880, 1).id(), "[::1]:20880");
    /// ```
    pub fn id(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The instance a `/services/<app>/<host>:<port>` node's data describes (what
    /// [`to_json`](Self::to_json) writes, or a Java provider): `name`, `address`, `port` and
    /// `payload.metadata`. [`interfaces`](Self::interfaces) is left empty (the node does not
    /// say; the instance's [`MetadataInfo`] does).
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// let read = ServiceInstance::from_json(&instance.to_json(2)).unwrap();
    /// assert_eq!((read.app, read.port), (instance.app, instance.port));
    /// assert_eq!(read.metadata, instance.metadata);
    /// ```
    pub fn from_json(json: &str) -> Result<Self, InstanceError> {
        let value = json::parse(json).map_err(|e| InstanceError::Json(e.to_string()))?;
        let field = |name: &'static str| {
            value
                .get(name)
                .and_then(json::Value::as_str)
                .ok_or(InstanceError::Missing(name))
        };
        let app = field("name")?.to_owned();
        let host = field("address")?.to_owned();
        let port = value
            .get("port")
            .and_then(json::Value::as_i64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(InstanceError::Missing("port"))?;
        let mut metadata = BTreeMap::new();
        if let Some(json::Value::Object(members)) =
            value.get("payload").and_then(|p| p.get("metadata"))
        {
            for (key, v) in members {
                if let Some(s) = v.as_str() {
                    metadata.insert(key.clone(), s.to_owned());
                }
            }
        }
        Ok(Self {
            app,
            host,
            port,
            metadata,
            interfaces: Vec::new(),
        })
    }

    /// `dubbo.metadata.revision`: the revision of the [`MetadataInfo`] it serves.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// assert_eq!(instance.revision(), info.revision.as_deref());
    /// ```
    pub fn revision(&self) -> Option<&str> {
        self.metadata
            .get("dubbo.metadata.revision")
            .map(String::as_str)
    }

    /// `dubbo.metadata.storage-type`: `local` (ask the instance's metadata service, the
    /// default) or `remote` (a metadata report holds it).
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// assert_eq!(instance.storage_type(), "local");
    /// ```
    pub fn storage_type(&self) -> &str {
        self.metadata
            .get("dubbo.metadata.storage-type")
            .map_or("local", String::as_str)
    }

    /// The port `protocol` is served on (`dubbo.endpoints`), else the instance's port.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// assert_eq!(instance.endpoint_port("dubbo"), 20880);
    /// assert_eq!(instance.endpoint_port("tri"), 20880); // not listed: the instance port
    /// ```
    pub fn endpoint_port(&self, protocol: &str) -> u16 {
        let endpoints = self
            .metadata
            .get("dubbo.endpoints")
            .and_then(|e| json::parse(e).ok());
        if let Some(json::Value::Array(list)) = endpoints {
            for endpoint in list {
                if endpoint.get("protocol").and_then(json::Value::as_str) == Some(protocol) {
                    if let Some(port) = endpoint
                        .get("port")
                        .and_then(json::Value::as_i64)
                        .and_then(|p| u16::try_from(p).ok())
                    {
                        return port;
                    }
                }
            }
        }
        self.port
    }

    /// Where its metadata service answers (`dubbo.metadata-service.url-params`: protocol and
    /// port), else `dubbo` on the instance's port (Java's fallback).
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let instance = ServiceInstance::new(&info, "10.0.0.7", 20880, 1);
    /// assert_eq!(instance.metadata_service_address(), ("dubbo".to_owned(), 20880));
    /// ```
    pub fn metadata_service_address(&self) -> (String, u16) {
        let params = self
            .metadata
            .get("dubbo.metadata-service.url-params")
            .and_then(|p| json::parse(p).ok());
        let protocol = params
            .as_ref()
            .and_then(|p| p.get("protocol"))
            .and_then(json::Value::as_str)
            .unwrap_or("dubbo")
            .to_owned();
        let port = params
            .as_ref()
            .and_then(|p| p.get("port"))
            .and_then(json::Value::as_i64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(self.port);
        (protocol, port)
    }

    /// The node's data: the JSON Curator's `JsonInstanceSerializer` writes for Dubbo's
    /// `ZookeeperServiceDiscovery`, registered at `registration_time_ms`.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let info = MetadataInfo::new("greeter", []);
    /// let json = ServiceInstance::new(&info, "10.0.0.7", 20880, 1).to_json(2);
    /// assert!(json.starts_with(r#"{"name":"greeter","id":"10.0.0.7:20880""#));
    /// assert!(json.contains(r#""registrationTimeUTC":2"#));
    /// ```
    pub fn to_json(&self, registration_time_ms: u64) -> String {
        let id = self.id();
        let mut json = String::with_capacity(512);
        json.push_str("{\"name\":");
        push_json_string(&mut json, &self.app);
        json.push_str(",\"id\":");
        push_json_string(&mut json, &id);
        json.push_str(",\"address\":");
        push_json_string(&mut json, &self.host);
        let _ = write!(
            json,
            ",\"port\":{},\"sslPort\":null,\"payload\":{{",
            self.port
        );
        json.push_str(
            "\"@class\":\"org.apache.dubbo.registry.zookeeper.ZookeeperInstance\",\"id\":",
        );
        push_json_string(&mut json, &id);
        json.push_str(",\"name\":");
        push_json_string(&mut json, &self.app);
        json.push_str(",\"metadata\":");
        json.push_str(&json_object(
            self.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ));
        let _ = write!(
            json,
            "}},\"registrationTimeUTC\":{registration_time_ms},\"serviceType\":\"DYNAMIC\",\"uriSpec\":null}}"
        );
        json
    }
}

/// Why an instance node could not be read.
///
/// ```
/// # use tether_core::metadata::{InstanceError, ServiceInstance};
/// assert_eq!(ServiceInstance::from_json("{}"), Err(InstanceError::Missing("name")));
/// assert!(matches!(ServiceInstance::from_json("not json"), Err(InstanceError::Json(_))));
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstanceError {
    /// The data is not JSON.
    #[error("instance data is not json: {0}")]
    Json(String),
    /// A member the instance needs is absent or of the wrong type.
    #[error("instance data has no {0}")]
    Missing(&'static str),
}

/// A JSON object of string values, in the order given.
fn json_object<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut json = String::from("{");
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_json_string(&mut json, key);
        json.push(':');
        push_json_string(&mut json, value);
    }
    json.push('}');
    json
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Serves `org.apache.dubbo.metadata.MetadataService` for one application: export
/// [`service`](Self::service) on the provider's own port, then [`publish`](Self::publish)
/// the application's [`MetadataInfo`] once its port is known. Clones share what is
/// published.
///
/// Methods served: `getMetadataInfo(String revision)` (the published info if its revision
/// is `revision`, else null, as Java), `getMetadataInfos()`, `serviceName()`, `version()`.
///
/// ```
/// # use tether_core::metadata::{MetadataInfo, MetadataService};
/// let metadata = MetadataService::new("greeter");
/// let info = MetadataInfo::new("greeter", []);
/// metadata.publish(info.clone());
/// assert_eq!(metadata.lookup("0"), Some(info));
/// ```
#[derive(Clone, Debug)]
pub struct MetadataService {
    app: String,
    /// By revision: the current one, and earlier ones a consumer may still ask for.
    published: Arc<RwLock<HashMap<String, MetadataInfo>>>,
    counts: Arc<Counts>,
}

/// Calls answered, by method.
#[derive(Debug, Default)]
struct Counts {
    metadata_info: AtomicU64,
    metadata_infos: AtomicU64,
    service_name: AtomicU64,
    version: AtomicU64,
}

/// Calls a [`MetadataService`] answered, by method.
///
/// ```
/// # use tether_core::metadata::{MetadataCalls, MetadataService};
/// let calls = MetadataService::new("greeter").calls();
/// assert_eq!(calls, MetadataCalls::default());
/// assert_eq!(calls.metadata_info, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataCalls {
    /// `getMetadataInfo(String)`: what a Java 3 consumer calls for each new revision.
    pub metadata_info: u64,
    /// `getMetadataInfos()`.
    pub metadata_infos: u64,
    /// `serviceName()`.
    pub service_name: u64,
    /// `version()`.
    pub version: u64,
}

impl MetadataService {
    /// The metadata service of application `app`, with nothing published.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataService;
    /// let metadata = MetadataService::new("greeter");
    /// assert_eq!(metadata.lookup("0"), None);
    /// ```
    pub fn new(app: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            published: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// The calls answered so far, by method.
    ///
    /// ```
    /// # use tether_core::metadata::MetadataService;
    /// assert_eq!(MetadataService::new("greeter").calls().version, 0);
    /// ```
    pub fn calls(&self) -> MetadataCalls {
        let c = &self.counts;
        MetadataCalls {
            metadata_info: c.metadata_info.load(Ordering::Relaxed),
            metadata_infos: c.metadata_infos.load(Ordering::Relaxed),
            service_name: c.service_name.load(Ordering::Relaxed),
            version: c.version.load(Ordering::Relaxed),
        }
    }

    /// Serves `info` (under its revision) from now on, besides what was published before.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, MetadataService};
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?group=blue&version=1.0.0&pid=42").unwrap();
    /// let metadata = MetadataService::new("greeter");
    /// let info = MetadataInfo::from_urls("greeter", [&url]);
    /// metadata.publish(info.clone());
    /// assert_eq!(metadata.lookup(info.revision.as_deref().unwrap()), Some(info));
    /// ```
    pub fn publish(&self, info: MetadataInfo) {
        let revision = info
            .revision
            .clone()
            .unwrap_or_else(|| info.compute_revision());
        self.published.write().insert(revision, info);
    }

    /// The published info of `revision`.
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataInfo, MetadataService};
    /// let metadata = MetadataService::new("greeter");
    /// metadata.publish(MetadataInfo::new("greeter", []));
    /// assert!(metadata.lookup("0").is_some());
    /// assert!(metadata.lookup("1").is_none());
    /// ```
    pub fn lookup(&self, revision: &str) -> Option<MetadataInfo> {
        self.published.read().get(revision).cloned()
    }

    /// The service to export: [`METADATA_SERVICE`], group = the application, version
    /// [`METADATA_SERVICE_VERSION`].
    ///
    /// ```
    /// # use tether_core::metadata::{MetadataService, METADATA_SERVICE};
    /// # use tether_core::provider::ServiceKey;
    /// let service = MetadataService::new("greeter").service();
    /// assert_eq!(service.key(), &ServiceKey::new(METADATA_SERVICE, Some("1.0.0"), Some("greeter")));
    /// ```
    pub fn service(&self) -> Service {
        let (by_revision, all, named, versioned) =
            (self.clone(), self.clone(), self.clone(), self.clone());
        Service::new(METADATA_SERVICE)
            .version(METADATA_SERVICE_VERSION)
            .group(&self.app)
            .method(
                "getMetadataInfo",
                move |_: Context, (revision,): (Option<String>,)| {
                    by_revision
                        .counts
                        .metadata_info
                        .fetch_add(1, Ordering::Relaxed);
                    Ok(revision.and_then(|r| by_revision.lookup(&r)))
                },
            )
            .method("getMetadataInfos", move |_: Context, (): ()| {
                all.counts.metadata_infos.fetch_add(1, Ordering::Relaxed);
                Ok(all.published.read().values().cloned().collect::<Vec<_>>())
            })
            .method("serviceName", move |_: Context, (): ()| {
                named.counts.service_name.fetch_add(1, Ordering::Relaxed);
                Ok(named.app.clone())
            })
            .method("version", move |_: Context, (): ()| {
                versioned.counts.version.fetch_add(1, Ordering::Relaxed);
                Ok(METADATA_SERVICE_VERSION.to_owned())
            })
    }
}

#[cfg(test)]
mod tests;
