//! The `#[java("org.acme.User")]` attribute of tether: one place that names the Java class
//! of a Rust struct or enum, for serde (the class written on the wire) and for tether (its
//! JVM descriptor and class name).
//!
//! Use it through `tether_core::java` (re-exported there); its documentation has the
//! examples.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::quote;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, DeriveInput, LitStr, Meta, Path, Token};

/// Names the Java class of a struct or enum: adds `#[serde(rename = "<class>")]` for serde's
/// derives (place it above `#[derive(Serialize, Deserialize)]`) and implements
/// `JavaType` and `JavaClass` for the type, as `java_class!` does.
///
/// `#[java("org.acme.User", crate = tether_hessian2)]` names the path of the Hessian crate
/// when tether-core (whose `hessian2` module is the default) is not a dependency.
#[proc_macro_attribute]
pub fn java(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The attribute's arguments.
struct Args {
    class: LitStr,
    krate: Path,
}

fn parse_args(input: ParseStream<'_>) -> syn::Result<Args> {
    if input.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "name the Java class: #[java(\"org.acme.ClassName\")]",
        ));
    }
    let class: LitStr = input.parse()?;
    let mut krate: Path = syn::parse_quote!(::tether_core::hessian2);
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        if !input.is_empty() {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            krate = input.parse()?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
    }
    if !input.is_empty() {
        return Err(input.error("expected `crate = path` or the end of #[java(...)]"));
    }
    Ok(Args { class, krate })
}

/// Whether `class` is a binary class name: Java identifiers joined by `.` (`$` for nested
/// classes is part of an identifier).
fn is_class_name(class: &str) -> bool {
    !class.is_empty()
        && class.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
}

/// What the item's `#[serde(...)]` attributes already say.
#[derive(Default)]
struct SerdeSays {
    /// `rename = "..."`.
    rename: Option<LitStr>,
    /// `rename(...)` (separate names for serialize and deserialize).
    split_rename: Option<Span>,
    /// `transparent`: the type is written as its only field, no class of its own.
    transparent: bool,
}

fn serde_says(attrs: &[Attribute]) -> SerdeSays {
    let mut says = SerdeSays::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let Meta::List(list) = &attr.meta else {
            continue;
        };
        // Top-level `name`, `name = lit` and `name(...)` items, separated by commas.
        let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            let TokenTree::Ident(ident) = token else {
                continue;
            };
            let at_item_start =
                i == 0 || matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == ',');
            if !at_item_start {
                continue;
            }
            match (
                ident.to_string().as_str(),
                tokens.get(i + 1),
                tokens.get(i + 2),
            ) {
                ("rename", Some(TokenTree::Punct(eq)), Some(TokenTree::Literal(lit)))
                    if eq.as_char() == '=' =>
                {
                    let lit = TokenStream2::from(TokenTree::Literal(lit.clone()));
                    says.rename = syn::parse2::<LitStr>(lit).ok();
                }
                ("rename", Some(TokenTree::Group(group)), _) => {
                    says.split_rename = Some(group.span());
                }
                ("transparent", _, _) => says.transparent = true,
                _ => {}
            }
        }
    }
    says
}

/// Whether a `#[derive(...)]` on the item names serde's `Serialize` or `Deserialize`.
fn derives_serde(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let Meta::List(list) = &a.meta else {
                return false;
            };
            list.tokens.clone().into_iter().any(
                |t| matches!(&t, TokenTree::Ident(i) if i == "Serialize" || i == "Deserialize"),
            )
        })
}

fn expand(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let Args { class, krate } = parse_args.parse2(args)?;
    let class_name = class.value();
    if !is_class_name(&class_name) {
        return Err(syn::Error::new(
            class.span(),
            format!(
                "{class_name:?} is not a Java class name: write its binary name, \
                 e.g. \"org.acme.User\" or \"org.acme.Outer$Inner\""
            ),
        ));
    }
    let mut input: DeriveInput = syn::parse2(item)?;
    if let syn::Data::Union(u) = &input.data {
        return Err(syn::Error::new(
            u.union_token.span,
            "#[java] names the class of a struct or enum",
        ));
    }
    let says = serde_says(&input.attrs);
    if let Some(span) = says.split_rename {
        return Err(syn::Error::new(
            span,
            "#[java] names the class for serde too: remove this #[serde(rename(...))]",
        ));
    }
    match &says.rename {
        Some(rename) if rename.value() != class_name => {
            return Err(syn::Error::new(
                rename.span(),
                format!(
                    "#[serde(rename = {:?})] names another class than #[java({class_name:?})]: \
                     remove the serde rename, #[java] sets it",
                    rename.value()
                ),
            ));
        }
        Some(_) => {}
        None if says.transparent => {}
        None if derives_serde(&input.attrs) => {
            input
                .attrs
                .push(syn::parse_quote!(#[serde(rename = #class)]));
        }
        None => {
            return Err(syn::Error::new(
                Span::call_site(),
                "place #[java(...)] above #[derive(Serialize, Deserialize)], so that serde \
                 writes the class it names (or write `#[serde(rename = ...)]` yourself for a \
                 type serialized by hand)",
            ));
        }
    }
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #input

        impl #impl_generics #krate::JavaType for #name #ty_generics #where_clause {
            fn descriptor(out: &mut ::std::string::String) {
                #krate::class_descriptor(out, #class)
            }

            fn array_type() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(concat!("[", #class))
            }
        }

        impl #impl_generics #krate::JavaClass for #name #ty_generics #where_clause {
            const CLASS: &'static str = #class;
        }
    })
}
