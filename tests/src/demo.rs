//! The demo-service contract shared with the interop peers (`shared/interop/README.md`):
//! `org.apache.dubbo.demo.DemoService` version `1.0.0`, sixteen methods.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tether_core::context::Reply;
use tether_core::hessian2::{Binary, JavaArray, Value};
use tether_core::message::JavaException;
use tether_core::provider::Service;

/// The service path.
pub const SERVICE: &str = "org.apache.dubbo.demo.DemoService";
/// The service version.
pub const VERSION: &str = "1.0.0";

/// `org.apache.dubbo.demo.User`: fields `name` and `age`, in that order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename = "org.apache.dubbo.demo.User")]
pub struct User {
    /// Nullable, as a Java `String` field is.
    pub name: Option<String>,
    pub age: i32,
}

tether_core::java_class!(User => "org.apache.dubbo.demo.User");

/// The demo service, as a Java provider of the contract behaves.
pub fn demo_service() -> Service {
    Service::new(SERVICE)
        .version(VERSION)
        .method("sayHello", |_, (name,): (String,)| {
            Ok(format!("Hello {name}"))
        })
        .method("ping", |_, (): ()| Ok("pong"))
        .method("echoString", |_, (s,): (Option<String>,)| Ok(s))
        .method("echoInt", |_, (v,): (i32,)| Ok(v))
        .method("echoLong", |_, (v,): (i64,)| Ok(v))
        .method("echoDouble", |_, (v,): (f64,)| Ok(v))
        .method("echoBool", |_, (v,): (bool,)| Ok(v))
        .method("echoList", |_, (v,): (Option<Vec<Value>>,)| Ok(v))
        .method("echoMap", |_, (v,): (Option<HashMap<String, Value>>,)| {
            Ok(v)
        })
        .method("echoBytes", |_, (v,): (Option<Binary>,)| Ok(v))
        .method(
            "echoStringArray",
            |_, (v,): (Option<JavaArray<Option<String>>>,)| Ok(v),
        )
        .method("echoIntArray", |_, (v,): (Option<JavaArray<i32>>,)| Ok(v))
        .method("echoUser", |_, (u,): (Option<User>,)| Ok(u))
        .method("join", |_, (s, i, b): (Option<String>, i32, bool)| {
            // Java string concatenation: null prints as "null".
            Ok(format!("{}:{i}:{b}", s.as_deref().unwrap_or("null")))
        })
        .method("getAttachment", |ctx, (key,): (Option<String>,)| {
            let value = key.and_then(|key| ctx.attachments().get(&key).cloned());
            let value = value.and_then(|v| match v {
                Value::String(s) => Some(s),
                Value::Int(i) => Some(i.to_string()),
                Value::Long(l) => Some(l.to_string()),
                Value::Double(d) => Some(d.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            });
            // A response attachment naming the provider, as the Java peer sends one.
            Ok(Reply::new(value).attachment("provider", "tether"))
        })
        .method("throwException", |_, (message,): (Option<String>,)| {
            Err::<String, _>(JavaException {
                class: "java.lang.RuntimeException".to_owned(),
                message,
                fields: Vec::new(),
            })
        })
}
