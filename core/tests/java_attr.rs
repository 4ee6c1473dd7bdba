//! `#[tether_core::java("...")]`: one place names a type's Java class, for serde and tether.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use tether_core::hessian2::{
    JavaArray, JavaClass, JavaType, Value, from_value, java_type_name, to_value,
};
use tether_core::message::JavaException;

#[tether_core::java("org.acme.User")]
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
struct User {
    name: String,
    age: i32,
}

#[tether_core::java("org.acme.Color")]
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone, Copy)]
enum Color {
    #[serde(rename = "RED")]
    Red,
}

/// Generic, with a where clause.
#[tether_core::java("org.acme.Page")]
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Page<T>
where
    T: Clone,
{
    items: Vec<T>,
}

/// A serde rename that agrees is kept.
#[tether_core::java("org.acme.Same")]
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(rename = "org.acme.Same", deny_unknown_fields)]
struct Same {
    x: i32,
}

/// A transparent wrapper names the Java type of its content without a serde name.
#[tether_core::java("org.acme.Animal")]
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(transparent)]
struct AnyAnimal(Value);

/// A nested class, and an exception.
#[tether_core::java("org.acme.Orders$NotFound")]
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct NotFound {
    #[serde(rename = "orderId")]
    order_id: i64,
    #[serde(rename = "detailMessage")]
    message: Option<String>,
}

fn descriptor<T: JavaType + ?Sized>() -> String {
    let mut out = String::new();
    T::descriptor(&mut out);
    out
}

#[test]
fn serde_and_tether_read_the_one_name() {
    let user = User {
        name: "a".into(),
        age: 1,
    };
    let value = to_value(&user).unwrap();
    assert_eq!(value.class(), Some("org.acme.User"));
    assert_eq!(from_value::<User>(value).unwrap(), user);
    assert_eq!(descriptor::<User>(), "Lorg/acme/User;");
    assert_eq!(User::CLASS, "org.acme.User");
    assert_eq!(JavaArray::<User>::element_type(), "[org.acme.User");
    assert_eq!(java_type_name(&descriptor::<User>()), "org.acme.User");

    assert_eq!(
        to_value(&Color::Red).unwrap().class(),
        Some("org.acme.Color")
    );
    assert_eq!(descriptor::<Option<Color>>(), "Lorg/acme/Color;");

    let page = Page { items: vec![user] };
    assert_eq!(to_value(&page).unwrap().class(), Some("org.acme.Page"));
    assert_eq!(<Page<User>>::CLASS, "org.acme.Page");
    assert_eq!(
        <Page<User> as JavaType>::array_type(),
        Cow::from("[org.acme.Page")
    );

    assert_eq!(
        to_value(&Same { x: 1 }).unwrap().class(),
        Some("org.acme.Same")
    );

    let animal = AnyAnimal(Value::object("org.acme.Dog", vec![]));
    assert_eq!(to_value(&animal).unwrap().class(), Some("org.acme.Dog"));
    assert_eq!(descriptor::<AnyAnimal>(), "Lorg/acme/Animal;");
}

#[test]
fn exceptions_named_once_go_both_ways() {
    let thrown = JavaException::from_typed(&NotFound {
        order_id: 7,
        message: Some("no order 7".into()),
    })
    .unwrap();
    assert_eq!(thrown.class, "org.acme.Orders$NotFound");
    assert_eq!(thrown.message.as_deref(), Some("no order 7"));
    let received = JavaException::from_value(thrown.to_value()).unwrap();
    let back: NotFound = received.downcast().unwrap().unwrap();
    assert_eq!(back.order_id, 7);
}

/// The Hessian crate's path named explicitly (as a user of tether-hessian2 alone would).
#[tether_core::java("org.acme.Explicit", crate = ::tether_core::hessian2)]
#[derive(Serialize)]
struct Explicit {
    x: i32,
}

#[test]
fn the_hessian_crate_path_can_be_named() {
    assert_eq!(descriptor::<Explicit>(), "Lorg/acme/Explicit;");
    assert_eq!(
        to_value(&Explicit { x: 1 }).unwrap().class(),
        Some("org.acme.Explicit")
    );
}
