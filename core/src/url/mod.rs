//! Dubbo URLs (`protocol://user:password@host:port/path?key=value&...`), parsed and printed
//! exactly as Java's `org.apache.dubbo.common.URL` does for what registries carry, and their
//! encoding as ZooKeeper node names.
//!
//! A registry lists providers, consumers, configurators (`override://`) and routers
//! (`route://`, `condition://`) as URL strings; ZooKeeper stores each as a node named
//! [`encode`]`(url.to_string())` (`docs/estate.md` §1.1–§1.2). [`Url::parse`] reads the decoded
//! string as `URL.valueOf` does, [`Url::from_encoded`] reads a node name, and
//! [`Display`](fmt::Display) prints `URL.toFullString()`: parameters in Java `TreeMap` order,
//! values trimmed.
//!
//! ```
//! use tether_core::url::Url;
//!
//! let url = Url::builder("dubbo")
//!     .host("127.0.0.1")
//!     .port(20880)
//!     .path("org.apache.dubbo.demo.DemoService")
//!     .param("version", "1.0.0")
//!     .param("side", "provider")
//!     .param("methods", "sayHello,sayHelloAsync")
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     url.to_string(),
//!     "dubbo://127.0.0.1:20880/org.apache.dubbo.demo.DemoService\
//!      ?methods=sayHello,sayHelloAsync&side=provider&version=1.0.0"
//! );
//! assert_eq!(url.service_key().as_deref(), Some("org.apache.dubbo.demo.DemoService:1.0.0"));
//! assert_eq!(Url::from_encoded(&url.to_encoded()).unwrap(), url);
//! ```
//!
//! The rules are those of Apache Dubbo 3.3 (`apache/dubbo@3.3`, files under
//! `dubbo-common/src/main/java/org/apache/dubbo/common/`): `URLStrParser.parseDecodedStr`
//! (parsing), `url/component/URLParam.java` (`default.` keys, method parameters),
//! `url/component/PathURLAddress.java` and `URLAddress.java` (path and port normalization),
//! `url/component/param/DefaultDynamicParamSource.java` (`side`), `URL.buildString` /
//! `buildParameters` (printing), `URL.encode` / `decode` (`java.net.URLEncoder` /
//! `URLDecoder`, UTF-8) and `utils/UrlUtils.isMatch`. The unit tests' vectors were printed by
//! the Dubbo 3.3.6 jar on JDK 17. (Java 3.x reads provider nodes with a faster parser,
//! `URLAddress.parse` + `URLParam.parse` in `CacheableFailbackRegistry.createURL`, which by
//! its source agrees with `URL.valueOf` on `protocol://host:port/path?params`.)
//!
//! Where tether differs from Java, it rejects what Java would accept with a surprise:
//! a port above 65535 or written with non-ASCII digits, escapes that are not UTF-8 (Java
//! substitutes U+FFFD), and `%` escapes whose two characters Java's `Integer.parseInt` happens
//! to accept but are not two hex digits (`%+F`). An empty path counts as absent (Java's
//! service key of `dubbo://h/` is the empty string; here there is none), and a password
//! without a username is dropped.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Dubbo's default provider weight (`cluster/Constants.DEFAULT_WEIGHT`).
pub const DEFAULT_WEIGHT: i32 = 100;
/// Dubbo's default call timeout, 1000 ms (`CommonConstants.DEFAULT_TIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Dubbo's default number of retries after a failed call (`CommonConstants.DEFAULT_RETRIES`).
pub const DEFAULT_RETRIES: i32 = 2;
/// Dubbo's default warm-up period, 10 minutes (`cluster/Constants.DEFAULT_WARMUP`).
pub const DEFAULT_WARMUP: Duration = Duration::from_millis(600_000);
/// The category of a URL that names none (`RegistryConstants.DEFAULT_CATEGORY`).
pub const DEFAULT_CATEGORY: &str = "providers";

/// Java's `CommonConstants.ANY_VALUE`: matches anything where a pattern is allowed.
const ANY: &str = "*";
/// Keys an old provider may carry instead of the plain key (`CommonConstants.DEFAULT_KEY_PREFIX`).
const DEFAULT_PREFIX: &str = "default.";

/// Why [`decode`] rejected a string.
///
/// ```
/// use tether_core::url::{decode, DecodeError};
/// assert_eq!(decode("%4"), Err(DecodeError::IncompleteEscape { at: 0 }));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A `%` with fewer than two characters after it.
    #[error("incomplete escape at byte {at}")]
    IncompleteEscape {
        /// Byte offset of the `%`.
        at: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error("invalid hex digits in the escape at byte {at}")]
    InvalidHex {
        /// Byte offset of the `%`.
        at: usize,
    },
    /// A run of escapes whose bytes are not UTF-8 (Java would substitute U+FFFD).
    #[error("escaped bytes at byte {at} are not UTF-8")]
    InvalidUtf8 {
        /// Byte offset of the run's first `%`.
        at: usize,
    },
}

/// Why a string is not a Dubbo URL, or a builder's parts do not make one.
///
/// ```
/// use tether_core::url::{Url, UrlError};
/// assert_eq!(Url::parse("://h"), Err(UrlError::MissingProtocol));
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The string starts with `://` or `:/` (Java: "url missing protocol").
    #[error("url missing protocol")]
    MissingProtocol,
    /// The text after the host's last `:` is not a decimal integer.
    #[error("port {0:?} is not a number")]
    InvalidPort(String),
    /// The port is a number above 65535 (Java accepts up to `i32::MAX`).
    #[error("port {0} is out of range")]
    PortOutOfRange(i32),
    /// `side` is neither `consumer` nor `provider` (in any case); Java refuses such a URL.
    #[error("side={0:?} is neither consumer nor provider")]
    InvalidSide(String),
    /// The builder was given a password but no username (Java's `URL` constructor refuses it).
    #[error("password without username")]
    PasswordWithoutUsername,
    /// The node name is not a well-formed encoding ([`Url::from_encoded`]).
    #[error("malformed encoding: {0}")]
    Decode(#[from] DecodeError),
}

/// A parameter whose value is not of the type its reader expects.
///
/// Java throws `NumberFormatException` in the same place; numbers are decimal with an optional
/// sign, ASCII digits only.
///
/// ```
/// # use tether_core::url::Url;
/// let url = Url::parse("dubbo://h/demo.Greeter?weight=heavy").unwrap();
/// let err = url.weight().unwrap_err();
/// assert_eq!((err.key.as_str(), err.expected), ("weight", "an int"));
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("parameter {key}={value:?} is not {expected}")]
#[non_exhaustive]
pub struct ParamError {
    /// The key the value was read from (`sayHello.timeout` for a method's own value).
    pub key: String,
    /// The value as the URL carries it.
    pub value: String,
    /// What it should have been: `"an int"` or `"a long"`.
    pub expected: &'static str,
}

/// Java's `URLEncoder.encode(s, "UTF-8")`, which Dubbo's `URL.encode` is: keeps
/// `A-Z a-z 0-9 . - * _`, turns a space into `+` and every other byte of the UTF-8 form into
/// `%XX` with upper-case hex.
///
/// ```
/// assert_eq!(tether_core::url::encode("a b*~é"), "a+b*%7E%C3%A9");
/// ```
pub fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0F)]));
            }
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, "UTF-8")` (Dubbo's `URL.decode`), strict: `+` is a space,
/// `%XX` (either case) a byte, and each run of escapes must be UTF-8. Accepts what
/// `encodeURIComponent` (node peers) and Go's `QueryEscape` write, too.
///
/// ```
/// use tether_core::url::decode;
/// assert_eq!(decode("a+b%20c%c3%a9").unwrap(), "a b cé");
/// assert!(decode("100%").is_err());
/// ```
pub fn decode(s: &str) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut run = Vec::new();
    let mut i = 0;
    // `literal` is the start of the current stretch copied as is; stretches end at `+` or `%`,
    // which are ASCII, so every slice below falls on a character boundary.
    let mut literal = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push_str(&s[literal..i]);
                out.push(' ');
                i += 1;
                literal = i;
            }
            b'%' => {
                out.push_str(&s[literal..i]);
                let at = i;
                run.clear();
                while i < bytes.len() && bytes[i] == b'%' {
                    if i + 2 >= bytes.len() {
                        return Err(DecodeError::IncompleteEscape { at: i });
                    }
                    let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) else {
                        return Err(DecodeError::InvalidHex { at: i });
                    };
                    run.push(high << 4 | low);
                    i += 3;
                }
                // Java decodes each run of escapes on its own (`URLDecoder.decode`), so a run
                // must be whole characters.
                let text =
                    std::str::from_utf8(&run).map_err(|_| DecodeError::InvalidUtf8 { at })?;
                out.push_str(text);
                literal = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&s[literal..]);
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A Dubbo URL: protocol, optional user info, host, port, path and parameters.
///
/// An empty string stands for an absent part and port 0 for no port, as in Java where every
/// reader tests `isEmpty` and `port > 0`. Parameters are kept in Java's order (`TreeMap` of
/// `String`: UTF-16 code units, which is byte order for ASCII keys), one value per key, as
/// given; printing trims values. Two `Url`s are equal when all their parts and parameters are
/// (Java's `equals` ignores the `timestamp` value; this does not).
///
/// ```
/// # use tether_core::url::Url;
/// let url: Url = "dubbo://10.0.0.7:20880/demo.Greeter?group=blue".parse().unwrap();
/// assert_eq!(url.interface(), "demo.Greeter");
/// assert_eq!(url.group(), Some("blue"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Url {
    protocol: String,
    username: String,
    password: String,
    host: String,
    port: u16,
    path: String,
    params: Params,
}

impl Url {
    /// A builder for a URL of `protocol` (`dubbo`, `consumer`, `empty`, `override`...).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").host("10.0.0.7").port(20880).build().unwrap();
    /// assert_eq!(url.to_string(), "dubbo://10.0.0.7:20880");
    /// ```
    pub fn builder(protocol: impl Into<String>) -> UrlBuilder {
        UrlBuilder {
            url: Url {
                protocol: protocol.into(),
                ..Url::default()
            },
        }
    }

    /// This URL as a builder, to change some of its parts.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// let moved = url.into_builder().port(20881).build().unwrap();
    /// assert_eq!(moved.address(), "10.0.0.7:20881");
    /// ```
    pub fn into_builder(self) -> UrlBuilder {
        UrlBuilder { url: self }
    }

    /// Parses a decoded URL string as Java's `URL.valueOf(s)` does.
    ///
    /// Grammar: `[protocol://][user[:password]@][host[:port]][/path][?params]`; also
    /// `protocol:/path`. Anything from `#` to the `?` is ignored. Parameters are split at `&`
    /// and `;`, each at its first `=` (a key without `=` gets an empty value, leading `=` are
    /// skipped), a later value of a key wins, and values are not decoded. A `default.<key>`
    /// parameter also sets `<key>` unless the URL has its own (the first `default.` value
    /// wins), as Dubbo does for 2.x providers. `side` must be `consumer` or `provider` in any
    /// case, and is stored in lower case. Leading `/` of the path are dropped; a negative port
    /// counts as none; a password without a username is dropped (Java keeps it but never
    /// prints it).
    ///
    /// IPv6 hosts parse as in Java: `[::1]:20880` works; `[::1]` without a port fails (Java
    /// reads `1]` as the port); a bare address with a scope id (`fe80::1%en0`) is all host.
    ///
    /// Printing a parsed URL and parsing that again gives the same print, with two exceptions
    /// that Java shares: a host holding `:` whose port was 0 or negative prints without a
    /// port, so that its `:` reads differently the next time (`h:1:0` prints `h:1`, host `h`
    /// port 1 next time), and each parse resolves one more level of a chain of `default.`
    /// prefixes (`default.default.default.x`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?default.timeout=300").unwrap();
    /// assert_eq!(url.port(), 20880);
    /// assert_eq!(url.param("timeout"), Some("300"));
    /// ```
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let (body, query) = match s.find('?') {
            Some(at) => (&s[..at], Some(&s[at + 1..])),
            None => (s, None),
        };
        let mut params = Params::default();
        if let Some(query) = query {
            parse_query(query, &mut params);
        }
        // `URLParam.parse(Map)`, run when Java builds the URL from the map just parsed, adds
        // the plain key of each `default.` key once more if absent: so `default.default.x=1`
        // also yields `x=1`.
        let defaults: Vec<(String, String)> = params
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(DEFAULT_PREFIX)?.to_owned(), v.to_owned())))
            .collect();
        for (key, value) in defaults {
            params.insert_if_absent(&key, &value);
        }
        let mut url = parse_body(body)?;
        url.params = params;
        url.check_side()?;
        Ok(url)
    }

    /// Parses a ZooKeeper node name: [`decode`], then [`Url::parse`].
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::from_encoded("dubbo%3A%2F%2Fh%3A1%2Fdemo.Greeter%3Fversion%3D1").unwrap();
    /// assert_eq!(url.version(), Some("1"));
    /// ```
    pub fn from_encoded(s: &str) -> Result<Url, UrlError> {
        Url::parse(&decode(s)?)
    }

    /// This URL as a ZooKeeper node name: [`encode`] of its [`Display`](fmt::Display) form
    /// (Java's `URL.encode(url.toFullString())`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h:1/demo.Greeter?version=1").unwrap();
    /// assert_eq!(url.to_encoded(), "dubbo%3A%2F%2Fh%3A1%2Fdemo.Greeter%3Fversion%3D1");
    /// ```
    pub fn to_encoded(&self) -> String {
        encode(&self.to_string())
    }

    /// Java's `toIdentityString()`: the URL without its parameters
    /// (`protocol://user:password@host:port/path`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// assert_eq!(url.to_identity_string(), "dubbo://10.0.0.7:20880/demo.Greeter");
    /// ```
    pub fn to_identity_string(&self) -> String {
        let mut out = String::new();
        self.write_address(&mut out, &self.password)
            .expect("writing to a String cannot fail");
        out
    }

    /// The protocol (`dubbo`, `consumer`, `empty`...), empty if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("override://0.0.0.0/demo.Greeter").unwrap().protocol(), "override");
    /// ```
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The username, empty if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("zookeeper://admin:secret@zk:2181").unwrap();
    /// assert_eq!(url.username(), "admin");
    /// ```
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, empty if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("zookeeper://admin:secret@zk:2181").unwrap();
    /// assert_eq!(url.password(), "secret");
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The host as written (an IPv6 address keeps its brackets), empty if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://[::1]:20880").unwrap().host(), "[::1]");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, 0 if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// assert_eq!(url.port(), 20880);
    /// assert_eq!(Url::parse("dubbo://h/x").unwrap().port(), 0);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, or the host alone when there is no port (Java's `getAddress()`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// assert_eq!(url.address(), "10.0.0.7:20880");
    /// ```
    pub fn address(&self) -> String {
        if self.port == 0 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The path without its leading `/` (for a service: the interface name), empty if none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://h//demo.Greeter").unwrap().path(), "demo.Greeter");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of parameter `key` as stored: `Some("")` for `key=` or a bare `key`.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?anyhost=true&flag").unwrap();
    /// assert_eq!(url.param("anyhost"), Some("true"));
    /// assert_eq!(url.param("flag"), Some(""));
    /// ```
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key)
    }

    /// The value of `key`, or `default` when it is absent or empty (Java's
    /// `getParameter(key, default)`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?loadbalance=").unwrap();
    /// assert_eq!(url.param_or("loadbalance", "random"), "random");
    /// ```
    pub fn param_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        non_empty(self.params.get(key)).unwrap_or(default)
    }

    /// Whether `key` has a non-empty value (Java's `hasParameter`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?token=abc&flag").unwrap();
    /// assert!(url.has_param("token"));
    /// assert!(!url.has_param("flag"));
    /// ```
    pub fn has_param(&self, key: &str) -> bool {
        non_empty(self.params.get(key)).is_some()
    }

    /// All parameters in Java's order, as stored.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?b=2&a=1").unwrap();
    /// assert_eq!(url.params().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.params.iter()
    }

    /// `key` as a Java `int`, `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?threads=200").unwrap();
    /// assert_eq!(url.int_param("threads", 100), Ok(200));
    /// assert_eq!(url.int_param("queues", 0), Ok(0));
    /// ```
    pub fn int_param(&self, key: &str, default: i32) -> Result<i32, ParamError> {
        int_value(self.params.entry(key), default)
    }

    /// `key` as a Java `long`, `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?timestamp=1700000000000").unwrap();
    /// assert_eq!(url.long_param("timestamp", 0), Ok(1_700_000_000_000));
    /// ```
    pub fn long_param(&self, key: &str, default: i64) -> Result<i64, ParamError> {
        long_value(self.params.entry(key), default)
    }

    /// `key` as a Java `boolean` (`Boolean.parseBoolean`: `true` in any case, anything else
    /// is false), `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?anyhost=TRUE&dynamic=yes").unwrap();
    /// assert!(url.bool_param("anyhost", false));
    /// assert!(!url.bool_param("dynamic", true));
    /// ```
    pub fn bool_param(&self, key: &str, default: bool) -> bool {
        bool_value(self.params.get(key), default)
    }

    /// `key` as a comma list, split as Java's `getParameter(key, String[])` does (at runs of
    /// commas with the whitespace around them; trailing empty items dropped). Empty when the
    /// parameter is absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?tags=a, b,,c,").unwrap();
    /// assert_eq!(url.list_param("tags"), ["a", "b", "c"]);
    /// ```
    pub fn list_param(&self, key: &str) -> Vec<&str> {
        non_empty(self.params.get(key)).map_or_else(Vec::new, split_list)
    }

    /// The parameters of one method: `<method>.<key>` falling back to `<key>`.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?timeout=1000&sayHello.timeout=300").unwrap();
    /// assert_eq!(url.method("sayHello").param("timeout"), Some("300"));
    /// assert_eq!(url.method("other").param("timeout"), Some("1000"));
    /// ```
    pub fn method<'a>(&'a self, method: &'a str) -> MethodParams<'a> {
        MethodParams { url: self, method }
    }

    /// The service interface: the `interface` parameter, else the path (Java's
    /// `getServiceInterface()`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/path?interface=demo.Greeter").unwrap();
    /// assert_eq!(url.interface(), "demo.Greeter");
    /// ```
    pub fn interface(&self) -> &str {
        self.param_or("interface", &self.path)
    }

    /// The service group (`group`), `None` if absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://h/x?group=blue").unwrap().group(), Some("blue"));
    /// assert_eq!(Url::parse("dubbo://h/x?group=").unwrap().group(), None);
    /// ```
    pub fn group(&self) -> Option<&str> {
        non_empty(self.params.get("group"))
    }

    /// The service version (`version`), `None` if absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
    /// assert_eq!(url.version(), Some("1.0.0"));
    /// ```
    pub fn version(&self) -> Option<&str> {
        non_empty(self.params.get("version"))
    }

    /// The registry category (`providers`, `consumers`, `configurators`, `routers`, or a comma
    /// list on a subscription), [`DEFAULT_CATEGORY`] if absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://h/x").unwrap().category(), "providers");
    /// assert_eq!(Url::parse("route://h/x?category=routers").unwrap().category(), "routers");
    /// ```
    pub fn category(&self) -> &str {
        self.param_or("category", DEFAULT_CATEGORY)
    }

    /// The side that wrote the URL (`side`: `provider` or `consumer`), `None` if absent or
    /// empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("consumer://h/x?side=Consumer").unwrap();
    /// assert_eq!(url.side(), Some("consumer"));
    /// ```
    pub fn side(&self) -> Option<&str> {
        non_empty(self.params.get("side"))
    }

    /// The application name (`application`), `None` if absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?application=greeter-app").unwrap();
    /// assert_eq!(url.application(), Some("greeter-app"));
    /// ```
    pub fn application(&self) -> Option<&str> {
        non_empty(self.params.get("application"))
    }

    /// The service's method names (`methods`, a comma list).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?methods=sayHello,sayBye").unwrap();
    /// assert_eq!(url.methods(), ["sayHello", "sayBye"]);
    /// ```
    pub fn methods(&self) -> Vec<&str> {
        self.list_param("methods")
    }

    /// Whether a directory keeps this provider: `disabled` decides if present and non-empty
    /// (`disabled=true` drops it), else `enabled` (default true). This is
    /// `RegistryDirectory.toInvokers` (`dubbo-registry-api`); [`Url::is_match`] checks only
    /// `enabled`.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert!(Url::parse("dubbo://h/x").unwrap().is_enabled());
    /// assert!(!Url::parse("dubbo://h/x?disabled=true&enabled=true").unwrap().is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        if self.has_param("disabled") {
            !self.bool_param("disabled", false)
        } else {
            self.bool_param("enabled", true)
        }
    }

    /// When the URL was written (`timestamp`, ms since the Unix epoch), 0 if absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?timestamp=1700000000000").unwrap();
    /// assert_eq!(url.timestamp(), Ok(1_700_000_000_000));
    /// ```
    pub fn timestamp(&self) -> Result<i64, ParamError> {
        self.long_param("timestamp", 0)
    }

    /// The service-level weight (`weight`), [`DEFAULT_WEIGHT`] if absent or empty. May be
    /// negative; load balancing counts a negative weight as 0. Per method:
    /// [`MethodParams::weight`].
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://h/x?weight=50").unwrap().weight(), Ok(50));
    /// assert_eq!(Url::parse("dubbo://h/x").unwrap().weight(), Ok(100));
    /// ```
    pub fn weight(&self) -> Result<i32, ParamError> {
        self.int_param("weight", DEFAULT_WEIGHT)
    }

    /// The service-level timeout (`timeout`, ms), [`DEFAULT_TIMEOUT`] if absent, empty or not
    /// positive. Per method: [`MethodParams::timeout`].
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// # use std::time::Duration;
    /// let url = Url::parse("dubbo://h/x?timeout=0").unwrap();
    /// assert_eq!(url.timeout(), Ok(Duration::from_millis(1000)));
    /// ```
    pub fn timeout(&self) -> Result<Duration, ParamError> {
        positive_millis(self.params.entry("timeout"), DEFAULT_TIMEOUT)
    }

    /// The service-level retries (`retries`), [`DEFAULT_RETRIES`] if absent or empty. May be
    /// negative; failover makes at least one call. Per method: [`MethodParams::retries`].
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// assert_eq!(Url::parse("dubbo://h/x?retries=0").unwrap().retries(), Ok(0));
    /// assert_eq!(Url::parse("dubbo://h/x").unwrap().retries(), Ok(2));
    /// ```
    pub fn retries(&self) -> Result<i32, ParamError> {
        self.int_param("retries", DEFAULT_RETRIES)
    }

    /// The warm-up period (`warmup`, ms), [`DEFAULT_WARMUP`] if absent or empty; zero when not
    /// positive, which disables warm-up as it does in Java.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// # use std::time::Duration;
    /// let url = Url::parse("dubbo://h/x?warmup=-1").unwrap();
    /// assert_eq!(url.warmup(), Ok(Duration::ZERO));
    /// ```
    pub fn warmup(&self) -> Result<Duration, ParamError> {
        let default = i32::try_from(DEFAULT_WARMUP.as_millis()).unwrap_or(i32::MAX);
        let millis = self.int_param("warmup", default)?;
        Ok(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
    }

    /// Java's `getServiceKey()`: `group/interface:version`, without the group or version when
    /// absent. `None` when the URL has no interface.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/demo.Greeter?group=blue&version=1.0.0").unwrap();
    /// assert_eq!(url.service_key().as_deref(), Some("blue/demo.Greeter:1.0.0"));
    /// ```
    pub fn service_key(&self) -> Option<String> {
        let interface = self.interface();
        (!interface.is_empty()).then(|| build_key(interface, self.group(), self.version()))
    }

    /// Java's `getPathKey()`: as [`service_key`](Url::service_key) with the path in place of
    /// the interface when the URL has a path.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/greeter?interface=demo.Greeter&version=1").unwrap();
    /// assert_eq!(url.path_key().as_deref(), Some("greeter:1"));
    /// assert_eq!(url.service_key().as_deref(), Some("demo.Greeter:1"));
    /// ```
    pub fn path_key(&self) -> Option<String> {
        let path = if self.path.is_empty() {
            self.interface()
        } else {
            &self.path
        };
        (!path.is_empty()).then(|| build_key(path, self.group(), self.version()))
    }

    /// Whether a consumer (or its subscription URL) wants this registry entry: Java's
    /// `UrlUtils.isMatch(consumer, provider)`, which a registry applies to every provider,
    /// configurator and router it is notified of.
    ///
    /// - interface: equal, or either is `*`;
    /// - category (default `providers`): the consumer's category text contains `*`; or, if it
    ///   contains `-`, does not contain `-<provider category>`; else contains the provider's
    ///   category. These are substring tests, as in Java;
    /// - `enabled`: a provider with `enabled` other than `true` (in any case) is refused unless
    ///   the consumer has `enabled=*`;
    /// - group: the consumer's is `*`, or equal to the provider's (absent equals absent), or a
    ///   comma list containing the provider's;
    /// - version: the consumer's is `*` or exactly the provider's (absent equals only absent:
    ///   `0.0.0` is not absent);
    /// - `classifier`: the consumer's is absent, empty, `*`, or equal to the provider's.
    ///
    /// Group and version compare the stored values, so `group=` (empty) differs from no
    /// group, as in Java.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let consumer = Url::parse("consumer://h/demo.Greeter?group=*&version=1.0.0").unwrap();
    /// let provider = Url::parse("dubbo://p:1/demo.Greeter?group=blue&version=1.0.0").unwrap();
    /// assert!(Url::is_match(&consumer, &provider));
    /// ```
    pub fn is_match(consumer: &Url, provider: &Url) -> bool {
        let consumer_interface = consumer.interface();
        let provider_interface = provider.interface();
        if !(consumer_interface == ANY
            || provider_interface == ANY
            || consumer_interface == provider_interface)
        {
            return false;
        }
        if !is_match_category(provider.category(), consumer.category()) {
            return false;
        }
        if !provider.bool_param("enabled", true) && consumer.param("enabled") != Some(ANY) {
            return false;
        }
        let consumer_group = consumer.param("group");
        let provider_group = provider.param("group");
        let group = consumer_group == Some(ANY)
            || consumer_group == provider_group
            || is_contains(consumer_group, provider_group);
        let consumer_version = consumer.param("version");
        let version =
            consumer_version == Some(ANY) || consumer_version == provider.param("version");
        let consumer_classifier = consumer.param_or("classifier", ANY);
        let classifier = consumer_classifier == ANY
            || consumer_classifier == provider.param_or("classifier", ANY);
        group && version && classifier
    }

    /// Java normalizes `side` through a fixed table (`DefaultDynamicParamSource`:
    /// `FixedParamValue(consumer, provider)`, looked up in lower case) and throws for any
    /// other value, the empty one included.
    fn check_side(&mut self) -> Result<(), UrlError> {
        let Some(side) = self.params.get_mut("side") else {
            return Ok(());
        };
        for known in ["consumer", "provider"] {
            if side.eq_ignore_ascii_case(known) {
                known.clone_into(side);
                return Ok(());
            }
        }
        Err(UrlError::InvalidSide(side.clone()))
    }

    /// `URL.buildString` up to the parameters.
    fn write_address(&self, out: &mut impl fmt::Write, password: &str) -> fmt::Result {
        if !self.protocol.is_empty() {
            out.write_str(&self.protocol)?;
            out.write_str("://")?;
        }
        if !self.username.is_empty() {
            out.write_str(&self.username)?;
            if !password.is_empty() {
                out.write_char(':')?;
                out.write_str(password)?;
            }
            out.write_char('@')?;
        }
        if !self.host.is_empty() {
            out.write_str(&self.host)?;
            if self.port > 0 {
                write!(out, ":{}", self.port)?;
            }
        }
        if !self.path.is_empty() {
            out.write_char('/')?;
            out.write_str(&self.path)?;
        }
        Ok(())
    }

    /// `URL.buildParameters`: `TreeMap` order, empty keys skipped, values trimmed.
    fn write_params(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let mut separator = '?';
        for (key, value) in self.params.iter() {
            if key.is_empty() {
                continue;
            }
            out.write_char(separator)?;
            separator = '&';
            out.write_str(key)?;
            out.write_char('=')?;
            out.write_str(java_trim(value))?;
        }
        Ok(())
    }
}

/// Java's `toFullString()`: user info and parameters included.
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_address(f, &self.password)?;
        self.write_params(f)
    }
}

/// The full string with the password masked.
impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut full = String::new();
        let password = if self.password.is_empty() { "" } else { "***" };
        self.write_address(&mut full, password)?;
        self.write_params(&mut full)?;
        f.debug_tuple("Url").field(&full).finish()
    }
}

impl FromStr for Url {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Url, UrlError> {
        Url::parse(s)
    }
}

/// Builds a [`Url`] part by part ([`Url::builder`], [`Url::into_builder`]).
///
/// Like Java, the builder does not escape anything: a part holding `/`, `?`, `&`, `;`, `=`,
/// `#`, `@` or `:` prints as a string that parses differently.
///
/// ```
/// # use tether_core::url::Url;
/// let url = Url::builder("dubbo").host("h").path("demo.Greeter").param("version", "1").build().unwrap();
/// assert_eq!(url.to_string(), "dubbo://h/demo.Greeter?version=1");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct UrlBuilder {
    url: Url,
}

impl UrlBuilder {
    /// Sets the protocol.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").protocol("tri").host("h").build().unwrap();
    /// assert_eq!(url.protocol(), "tri");
    /// ```
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.url.protocol = protocol.into();
        self
    }

    /// Sets the username.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("zookeeper").username("admin").host("zk").build().unwrap();
    /// assert_eq!(url.to_string(), "zookeeper://admin@zk");
    /// ```
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.url.username = username.into();
        self
    }

    /// Sets the password; it needs a username.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("zookeeper").username("a").password("s").host("zk").build().unwrap();
    /// assert_eq!(url.to_string(), "zookeeper://a:s@zk");
    /// assert!(Url::builder("zookeeper").password("s").build().is_err());
    /// ```
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.url.password = password.into();
        self
    }

    /// Sets the host: a name, an IPv4 address, or an IPv6 address in brackets.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").host("[::1]").port(20880).build().unwrap();
    /// assert_eq!(url.address(), "[::1]:20880");
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.url.host = host.into();
        self
    }

    /// Sets the port; 0 for none.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").host("h").port(20880).build().unwrap();
    /// assert_eq!(url.port(), 20880);
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.url.port = port;
        self
    }

    /// Sets the path (for a service: the interface name); leading `/` are dropped.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").path("//demo.Greeter").build().unwrap();
    /// assert_eq!(url.path(), "demo.Greeter");
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        let start = path.len() - path.trim_start_matches('/').len();
        path.drain(..start);
        self.url.path = path;
        self
    }

    /// Sets parameter `key`, replacing its value. An empty key or value is ignored, as in
    /// Java's `addParameter`; use [`remove_param`](UrlBuilder::remove_param) to drop a key.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").param("version", "1").param("group", "").build().unwrap();
    /// assert_eq!(url.param("version"), Some("1"));
    /// assert_eq!(url.param("group"), None);
    /// ```
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        if !key.is_empty() && !value.is_empty() {
            self.url.params.insert(key, value);
        }
        self
    }

    /// Sets each parameter in turn, as [`param`](UrlBuilder::param).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo").params([("a", "1"), ("b", "2")]).build().unwrap();
    /// assert_eq!(url.params().len(), 2);
    /// ```
    pub fn params<K, V>(mut self, params: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        for (key, value) in params {
            self = self.param(key, value);
        }
        self
    }

    /// Sets parameter `key` unless it has a non-empty value (Java's `addParameterIfAbsent`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::builder("dubbo")
    ///     .param("timeout", "300")
    ///     .param_if_absent("timeout", "1000")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(url.param("timeout"), Some("300"));
    /// ```
    pub fn param_if_absent(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        if self.url.has_param(&key) {
            self
        } else {
            self.param(key, value)
        }
    }

    /// Removes parameter `key`.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?pid=42").unwrap();
    /// let url = url.into_builder().remove_param("pid").build().unwrap();
    /// assert!(!url.has_param("pid"));
    /// ```
    pub fn remove_param(mut self, key: &str) -> Self {
        self.url.params.remove(key);
        self
    }

    /// The URL, unless it has a password without a username or a `side` that is neither
    /// `consumer` nor `provider` (stored in lower case).
    ///
    /// ```
    /// use tether_core::url::{Url, UrlError};
    /// let built = Url::builder("consumer").param("side", "server").build();
    /// assert_eq!(built, Err(UrlError::InvalidSide("server".into())));
    /// ```
    pub fn build(mut self) -> Result<Url, UrlError> {
        if self.url.username.is_empty() && !self.url.password.is_empty() {
            return Err(UrlError::PasswordWithoutUsername);
        }
        self.url.check_side()?;
        Ok(self.url)
    }
}

/// The parameters of one method of a [`Url`] ([`Url::method`]).
///
/// A method's own value is `<method>.<key>` (`sayHello.timeout=300`; an argument's is
/// `<method>.<index>.<key>`, read with key `1.callback`). It is used when non-empty, and only
/// if the URL has no `methods` list or that list's text contains the method name (a substring
/// test, as in Java); otherwise the service-level `<key>` is (`URLParam.getMethodParameter`).
///
/// ```
/// # use tether_core::url::Url;
/// let url = Url::parse("dubbo://h/x?retries=2&sayHello.retries=0").unwrap();
/// assert_eq!(url.method("sayHello").retries(), Ok(0));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MethodParams<'a> {
    url: &'a Url,
    method: &'a str,
}

impl<'a> MethodParams<'a> {
    /// The method's value of `key`, else the URL's, as stored.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?sayHello.1.callback=true").unwrap();
    /// assert_eq!(url.method("sayHello").param("1.callback"), Some("true"));
    /// ```
    pub fn param(&self, key: &str) -> Option<&'a str> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The method's value of `key`, else the URL's, else `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?sayHello.loadbalance=").unwrap();
    /// assert_eq!(url.method("sayHello").param_or("loadbalance", "random"), "random");
    /// ```
    pub fn param_or(&self, key: &str, default: &'a str) -> &'a str {
        non_empty(self.param(key)).unwrap_or(default)
    }

    /// [`param`](MethodParams::param) as a Java `int`, `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?actives=5&sayHello.actives=2").unwrap();
    /// assert_eq!(url.method("sayHello").int_param("actives", 0), Ok(2));
    /// ```
    pub fn int_param(&self, key: &str, default: i32) -> Result<i32, ParamError> {
        int_value(self.entry(key), default)
    }

    /// [`param`](MethodParams::param) as a Java `boolean`, `default` when absent or empty.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?sayHello.async=true").unwrap();
    /// assert!(url.method("sayHello").bool_param("async", false));
    /// assert!(!url.method("sayBye").bool_param("async", false));
    /// ```
    pub fn bool_param(&self, key: &str, default: bool) -> bool {
        bool_value(self.param(key), default)
    }

    /// The weight of calls to this method (`weight`), [`DEFAULT_WEIGHT`] if absent or empty.
    /// May be negative; load balancing counts a negative weight as 0.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?weight=100&sayHello.weight=10").unwrap();
    /// assert_eq!(url.method("sayHello").weight(), Ok(10));
    /// ```
    pub fn weight(&self) -> Result<i32, ParamError> {
        self.int_param("weight", DEFAULT_WEIGHT)
    }

    /// The timeout of calls to this method (`timeout`, ms), [`DEFAULT_TIMEOUT`] if absent,
    /// empty or not positive (Java's `getMethodPositiveParameter`).
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// # use std::time::Duration;
    /// let url = Url::parse("dubbo://h/x?sayHello.timeout=300").unwrap();
    /// assert_eq!(url.method("sayHello").timeout(), Ok(Duration::from_millis(300)));
    /// ```
    pub fn timeout(&self) -> Result<Duration, ParamError> {
        positive_millis(self.entry("timeout"), DEFAULT_TIMEOUT)
    }

    /// The retries of calls to this method (`retries`), [`DEFAULT_RETRIES`] if absent or
    /// empty. May be negative; failover makes at least one call.
    ///
    /// ```
    /// # use tether_core::url::Url;
    /// let url = Url::parse("dubbo://h/x?methods=sayBye&sayHello.retries=0").unwrap();
    /// assert_eq!(url.method("sayHello").retries(), Ok(2)); // not in `methods`
    /// ```
    pub fn retries(&self) -> Result<i32, ParamError> {
        self.int_param("retries", DEFAULT_RETRIES)
    }

    /// The key and value used for `key`: the method's own if it applies, else the URL's.
    fn entry(&self, key: &str) -> Option<(&'a str, &'a str)> {
        self.own_entry(key).or_else(|| self.url.params.entry(key))
    }

    fn own_entry(&self, key: &str) -> Option<(&'a str, &'a str)> {
        let method = self.method;
        // Java files `a.b.c` under method `a`, key `b.c`: a method name with a dot never has
        // values of its own.
        if method.contains('.') {
            return None;
        }
        if let Some(methods) = non_empty(self.url.params.get("methods")) {
            if !methods.contains(method) {
                return None;
            }
        }
        let full = method
            .encode_utf16()
            .chain(".".encode_utf16())
            .chain(key.encode_utf16());
        self.url
            .params
            .entry_by(|k| k.encode_utf16().cmp(full.clone()))
            .filter(|(_, value)| !value.is_empty())
    }
}

/// A URL's parameters, sorted by Java's `String.compareTo`, one value per key.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| java_cmp(k, key))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|(_, value)| value)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut String> {
        let at = self.position(key).ok()?;
        Some(&mut self.0[at].1)
    }

    fn entry(&self, key: &str) -> Option<(&str, &str)> {
        self.entry_by(|k| java_cmp(k, key))
    }

    /// The entry whose key `order` finds Equal, with `order` consistent with Java's order.
    fn entry_by(&self, order: impl FnMut(&str) -> Ordering) -> Option<(&str, &str)> {
        let mut order = order;
        let at = self.0.binary_search_by(|(k, _)| order(k)).ok()?;
        let (key, value) = &self.0[at];
        Some((key, value))
    }

    fn insert(&mut self, key: String, value: String) {
        match self.position(&key) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (key, value)),
        }
    }

    fn insert_if_absent(&mut self, key: &str, value: &str) {
        if let Err(at) = self.position(key) {
            self.0.insert(at, (key.to_owned(), value.to_owned()));
        }
    }

    fn remove(&mut self, key: &str) {
        if let Ok(at) = self.position(key) {
            self.0.remove(at);
        }
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Java's `String.compareTo`: UTF-16 code units. This is code point order except that
/// characters above U+FFFF (surrogate pairs, 0xD800..) sort below U+E000..=U+FFFF.
fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `String.trim()`: strips every character up to U+0020 (controls and space), nothing
/// else.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// `URLStrParser.parseDecodedParams` + `addParam`, on the text after the first `?`.
fn parse_query(query: &str, params: &mut Params) {
    let bytes = query.as_bytes();
    let mut name_start = 0;
    let mut value_start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            // A `=` right at a key's start is skipped; the first later one splits key/value.
            b'=' if name_start == i => name_start = i + 1,
            b'=' if value_start.is_none_or(|v| v < name_start) => value_start = Some(i + 1),
            b'&' | b';' => {
                add_param(query, name_start, value_start, i, params);
                name_start = i + 1;
            }
            _ => {}
        }
    }
    add_param(query, name_start, value_start, bytes.len(), params);
}

/// One `key=value` of `query[name_start..value_end]`: a later value of a key wins, and a
/// `default.<key>` also sets `<key>` if nothing has yet (Java: `params.put`, then
/// `putIfAbsent` of the stripped key, in the string's order).
fn add_param(
    query: &str,
    name_start: usize,
    value_start: Option<usize>,
    value_end: usize,
    params: &mut Params,
) {
    if name_start >= value_end {
        return;
    }
    // A `=` seen before this key's start belongs to an earlier one.
    let value_start = value_start
        .filter(|&v| v > name_start)
        .unwrap_or(value_end + 1);
    let name = &query[name_start..value_start - 1];
    let value = if value_start >= value_end {
        ""
    } else {
        &query[value_start..value_end]
    };
    params.insert(name.to_owned(), value.to_owned());
    if let Some(plain) = name.strip_prefix(DEFAULT_PREFIX) {
        params.insert_if_absent(plain, value);
    }
}

/// `URLStrParser.parseURLBody` + `PathURLAddress`/`URLAddress`, on the text before the first
/// `?`. All the delimiters are ASCII, so byte offsets are character boundaries and give the
/// same splits as Java's UTF-16 offsets.
fn parse_body(body: &str) -> Result<Url, UrlError> {
    let mut url = Url::default();
    let mut start = 0;
    let mut end = body.find('#').unwrap_or(body.len());
    if let Some(at) = body.find("://") {
        if at == 0 {
            return Err(UrlError::MissingProtocol);
        }
        url.protocol = body[..at].to_owned();
        start = at + 3;
    } else if let Some(at) = body.find(":/") {
        // `file:/path`: the `/` starts the path.
        if at == 0 {
            return Err(UrlError::MissingProtocol);
        }
        url.protocol = body[..at].to_owned();
        start = at + 1;
    }
    // Java searches from the protocol's end even when a `#` came before it; every range
    // below is then empty.
    if let Some(at) = index_of(body, b'/', start, end) {
        url.path = body[at + 1..end].trim_start_matches('/').to_owned();
        end = at;
    }
    if let Some(at) = last_index_of(body, b'@', start, end).filter(|&at| at > 0) {
        let user_info = &body[start..at];
        match user_info.split_once(':') {
            Some((username, password)) => {
                url.username = username.to_owned();
                // Java keeps a password without a username but never prints it.
                if !username.is_empty() {
                    url.password = password.to_owned();
                }
            }
            None => url.username = user_info.to_owned(),
        }
        start = at + 1;
    }
    if let Some(at) =
        last_index_of(body, b':', start, end).filter(|&at| at > 0 && at < body.len() - 1)
    {
        // A `%` after the last `:` is an IPv6 scope id (`fe80::1%en0`): all host, no port.
        let scoped = last_index_of(body, b'%', start, end).is_some_and(|p| p > at);
        if !scoped {
            url.port = parse_port(&body[at + 1..end])?;
            end = at;
        }
    }
    if end > start {
        url.host = body[start..end].to_owned();
    }
    Ok(url)
}

/// `Integer.parseInt`, then `URLAddress`'s `max(port, 0)`.
fn parse_port(text: &str) -> Result<u16, UrlError> {
    let port: i32 = text
        .parse()
        .map_err(|_| UrlError::InvalidPort(text.to_owned()))?;
    if port < 0 {
        return Ok(0);
    }
    u16::try_from(port).map_err(|_| UrlError::PortOutOfRange(port))
}

/// `URLStrParser.indexOf`: the first `b` in `s[from..to]`.
fn index_of(s: &str, b: u8, from: usize, to: usize) -> Option<usize> {
    let to = to.min(s.len());
    if from > to {
        return None;
    }
    s.as_bytes()[from..to]
        .iter()
        .position(|&c| c == b)
        .map(|at| from + at)
}

/// `URLStrParser.lastIndexOf`: the last `b` in `s[from..=to]`, `to` clamped to the last byte
/// (Java's bound is inclusive; where `to` falls on a delimiter it is never the one sought).
fn last_index_of(s: &str, b: u8, from: usize, to: usize) -> Option<usize> {
    let to = to.min(s.len().checked_sub(1)?);
    if from > to {
        return None;
    }
    s.as_bytes()[from..=to]
        .iter()
        .rposition(|&c| c == b)
        .map(|at| from + at)
}

/// `CommonConstants.COMMA_SPLIT_PATTERN.split(value)`: Java's `String.split` on
/// `\s*[,]+\s*` (`\s` = space, `\t`, `\n`, `\x0B`, `\f`, `\r`). A leading empty item stays,
/// trailing ones go.
fn split_list(value: &str) -> Vec<&str> {
    fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
    }
    let bytes = value.as_bytes();
    let mut items = Vec::new();
    let mut item_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b',' {
            i += 1;
            continue;
        }
        // The separator starts at the whitespace before the commas; whitespace right after
        // the previous separator already belongs to it.
        let mut item_end = i;
        while item_end > item_start && is_space(bytes[item_end - 1]) {
            item_end -= 1;
        }
        items.push(&value[item_start..item_end]);
        while i < bytes.len() && bytes[i] == b',' {
            i += 1;
        }
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        item_start = i;
    }
    items.push(&value[item_start..]);
    while items.last() == Some(&"") {
        items.pop();
    }
    items
}

/// `UrlUtils.isMatchCategory(category, categories)`: substring tests, as in Java.
fn is_match_category(category: &str, categories: &str) -> bool {
    if categories.is_empty() {
        category == DEFAULT_CATEGORY
    } else if categories.contains(ANY) {
        true
    } else if categories.contains('-') {
        !categories.contains(&format!("-{category}"))
    } else {
        categories.contains(category)
    }
}

/// `StringUtils.isContains(values, value)`: `value` is one of the comma list `values`.
fn is_contains(values: Option<&str>, value: Option<&str>) -> bool {
    match (non_empty(values), non_empty(value)) {
        (Some(values), Some(value)) => split_list(values).contains(&value),
        _ => false,
    }
}

/// `BaseServiceMetadata.buildServiceKey`.
fn build_key(path: &str, group: Option<&str>, version: Option<&str>) -> String {
    let mut key = String::with_capacity(path.len() + 16);
    if let Some(group) = group {
        key.push_str(group);
        key.push('/');
    }
    key.push_str(path);
    if let Some(version) = version {
        key.push(':');
        key.push_str(version);
    }
    key
}

fn int_value(entry: Option<(&str, &str)>, default: i32) -> Result<i32, ParamError> {
    match entry {
        Some((key, value)) if !value.is_empty() => value.parse().map_err(|_| ParamError {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "an int",
        }),
        _ => Ok(default),
    }
}

fn long_value(entry: Option<(&str, &str)>, default: i64) -> Result<i64, ParamError> {
    match entry {
        Some((key, value)) if !value.is_empty() => value.parse().map_err(|_| ParamError {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "a long",
        }),
        _ => Ok(default),
    }
}

/// `Boolean.parseBoolean`, `default` when absent or empty.
fn bool_value(value: Option<&str>, default: bool) -> bool {
    non_empty(value).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

/// An `int` of milliseconds, `default` when absent, empty or not positive.
fn positive_millis(entry: Option<(&str, &str)>, default: Duration) -> Result<Duration, ParamError> {
    let millis = int_value(entry, 0)?;
    Ok(positive_int_millis(millis).unwrap_or(default))
}

/// `value` as milliseconds if it is a positive `int`, as Java's `getPositiveParameter` and
/// `getMethodPositiveParameter` read a timeout: `None` for zero, a negative number, one past
/// `int`, or text.
pub(crate) fn positive_millis_value(value: &str) -> Option<Duration> {
    positive_int_millis(value.parse().ok()?)
}

fn positive_int_millis(millis: i32) -> Option<Duration> {
    u64::try_from(millis)
        .ok()
        .filter(|&m| m > 0)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests;
