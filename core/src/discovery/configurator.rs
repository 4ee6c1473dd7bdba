//! Dynamic configuration from a registry's `configurators` category (`override://` and
//! `absent://` URLs): which provider a rule applies to, and what it changes
//! (`docs/estate.md` §1.4; Java's `AbstractConfigurator` and `Configurator.toConfigurators`).

use crate::url::Url;

/// The host standing for every host in a rule.
const ANY_HOST: &str = "0.0.0.0";
/// The value standing for any value of a condition.
const ANY: &str = "*";

/// Parameters of a rule that say where it applies or describe the rule itself: never
/// copied onto a provider (Java's `conditionKeys`).
const CONDITION_KEYS: &[&str] = &[
    "category",
    "check",
    "dynamic",
    "enabled",
    "group",
    "version",
    "application",
    "side",
    "configVersion",
    "compatible_config",
    "interfaces",
];

/// One rule of the `configurators` category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Configurator {
    url: Url,
    /// `absent://`: fill only missing parameters; `override://`: replace.
    only_absent: bool,
}

/// What the last `configurators` notification says: the rules to apply, in order. `empty://`
/// or a bare rule (no parameter beyond `anyhost`) clears the list, as in Java.
pub(super) fn configurators<'a>(urls: impl IntoIterator<Item = &'a Url>) -> Vec<Configurator> {
    let mut rules = Vec::new();
    for url in urls {
        if url.protocol() == "empty" {
            rules.clear();
            break;
        }
        let only_absent = match url.protocol() {
            "override" => false,
            "absent" => true,
            // Another protocol in this category is not a rule tether knows.
            _ => continue,
        };
        if url.params().all(|(key, _)| key == "anyhost") {
            rules.clear();
            continue;
        }
        rules.push(Configurator {
            url: url.clone(),
            only_absent,
        });
    }
    // Java sorts rules by host, then `priority`: `0.0.0.0` sorts before a named host, so a
    // rule for one host is applied after (and wins over) a rule for all.
    rules.sort_by(|a, b| {
        let priority = |c: &Configurator| c.url.int_param("priority", 0).unwrap_or(0);
        a.url
            .host()
            .cmp(b.url.host())
            .then(priority(a).cmp(&priority(b)))
    });
    rules
}

impl Configurator {
    /// Whether this rule applies to `provider`, as seen by `consumer` (Java's
    /// `AbstractConfigurator.configure`, consumer side).
    ///
    /// Where: a rule with `configVersion` (2.7 style) applies here only if its `side` is
    /// `consumer`, and names this consumer's host or `0.0.0.0`. An older rule with a port
    /// names one provider: the port must be the provider's and the host the provider's or
    /// `0.0.0.0`; without a port it names consumers: the consumer's host or `0.0.0.0`.
    ///
    /// Then: `providerAddresses`, if set, must list the provider (`host:port`, `host`,
    /// `0.0.0.0`, `0.0.0.0:*` or `0.0.0.0:<port>`); `application` (or the rule's user name),
    /// if set and not `*`, must be the consumer's (Java compares it with the merged URL,
    /// where the consumer's value wins); the rule's service key (`group/interface:version`)
    /// must be the provider's unless the rule's interface is `*`; and for older rules every
    /// `~key`, and `side`, must equal that parameter of the merged URL. A rule with
    /// `enabled=false` applies nowhere.
    fn applies(&self, provider: &Url, consumer: &Url) -> bool {
        let rule = &self.url;
        if !rule.bool_param("enabled", true) || rule.host().is_empty() {
            return false;
        }
        let v27 = rule.param("configVersion").is_some_and(|v| !v.is_empty());
        let host = if v27 {
            if rule.side() != Some("consumer") {
                return false;
            }
            consumer.host()
        } else if rule.port() != 0 {
            if rule.port() != provider.port() {
                return false;
            }
            provider.host()
        } else {
            consumer.host()
        };
        if rule.host() != ANY_HOST && rule.host() != host {
            return false;
        }
        if let Some(addresses) = rule.param("providerAddresses").filter(|a| !a.is_empty()) {
            let port_any = format!("{ANY_HOST}:{}", provider.port());
            let listed = addresses.split(',').map(str::trim).any(|a| {
                a == provider.address()
                    || a == ANY_HOST
                    || a == format!("{ANY_HOST}:{ANY}")
                    || a == port_any
                    || a == provider.host()
            });
            if !listed {
                return false;
            }
        }
        // The merged URL's parameters: the consumer's win (Java's `mergeUrl`), and its side
        // is the consumer's.
        let merged = |key: &str| -> Option<&str> {
            match key {
                "side" => Some("consumer"),
                _ => consumer.param(key).or_else(|| provider.param(key)),
            }
        };
        if let Some(application) = rule.application().or(non_empty(rule.username())) {
            if application != ANY && merged("application") != Some(application) {
                return false;
            }
        }
        if rule.interface() != ANY && rule.service_key() != provider.service_key() {
            return false;
        }
        if v27 {
            return true;
        }
        for (key, value) in rule.params() {
            let condition = match key.strip_prefix('~') {
                Some(plain) => plain,
                None if key == "side" => key,
                None => continue,
            };
            if value != ANY && merged(condition) != Some(value) {
                return false;
            }
        }
        true
    }

    /// Applies the rule to `params` (a provider's, sorted by key) if it matches `provider`.
    fn apply(&self, provider: &Url, consumer: &Url, params: &mut Vec<(String, String)>) {
        if !self.applies(provider, consumer) {
            return;
        }
        for (key, value) in self.url.params() {
            if key.starts_with('~') || CONDITION_KEYS.contains(&key) {
                continue;
            }
            match params.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
                Ok(at) if !self.only_absent => params[at].1 = value.to_owned(),
                Ok(_) => {}
                Err(at) => params.insert(at, (key.to_owned(), value.to_owned())),
            }
        }
    }
}

/// `provider`'s parameters after `rules`, sorted by key.
pub(super) fn configure(
    rules: &[Configurator],
    provider: &Url,
    consumer: &Url,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = provider
        .params()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for rule in rules {
        rule.apply(provider, consumer, &mut params);
    }
    params
}

/// Whether a provider with these parameters is kept: `disabled` decides if present and
/// non-empty, else `enabled` (default true) — [`Url::is_enabled`] over a parameter list.
pub(super) fn is_enabled(params: &[(String, String)]) -> bool {
    let get = |key: &str| {
        params
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|at| params[at].1.trim())
            .filter(|v| !v.is_empty())
    };
    match get("disabled") {
        Some(disabled) => !disabled.eq_ignore_ascii_case("true"),
        None => get("enabled").is_none_or(|e| e.eq_ignore_ascii_case("true")),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const CONSUMER: &str = "consumer://10.0.0.1/demo.Svc?application=shop&side=consumer";
    const PROVIDER: &str = "dubbo://10.0.0.7:20880/demo.Svc?application=stock&weight=100";

    fn param(rules: &[&str], key: &str) -> Option<String> {
        let rules: Vec<Url> = rules.iter().map(|r| url(r)).collect();
        let params = configure(&configurators(&rules), &url(PROVIDER), &url(CONSUMER));
        params.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    #[test]
    fn a_rule_for_every_host_applies() {
        let rule = "override://0.0.0.0/demo.Svc?category=configurators&dynamic=false&weight=200";
        assert_eq!(param(&[rule], "weight").as_deref(), Some("200"));
        // Condition keys are not copied.
        assert_eq!(param(&[rule], "dynamic"), None);
        assert_eq!(param(&[rule], "category"), None);
    }

    #[test]
    fn a_rule_with_a_port_names_one_provider() {
        let this = "override://10.0.0.7:20880/demo.Svc?weight=300";
        let other_port = "override://10.0.0.7:20881/demo.Svc?weight=300";
        let other_host = "override://10.0.0.8:20880/demo.Svc?weight=300";
        let any_host = "override://0.0.0.0:20880/demo.Svc?weight=300";
        assert_eq!(param(&[this], "weight").as_deref(), Some("300"));
        assert_eq!(param(&[other_port], "weight").as_deref(), Some("100"));
        assert_eq!(param(&[other_host], "weight").as_deref(), Some("100"));
        assert_eq!(param(&[any_host], "weight").as_deref(), Some("300"));
    }

    #[test]
    fn a_rule_without_a_port_names_consumers() {
        let this_consumer = "override://10.0.0.1/demo.Svc?timeout=5000";
        let provider_host = "override://10.0.0.7/demo.Svc?timeout=5000";
        assert_eq!(param(&[this_consumer], "timeout").as_deref(), Some("5000"));
        assert_eq!(param(&[provider_host], "timeout"), None);
    }

    #[test]
    fn application_side_tilde_and_addresses_are_conditions() {
        let base = "override://0.0.0.0/demo.Svc?weight=7";
        assert_eq!(
            param(&[&format!("{base}&application=shop")], "weight").as_deref(),
            Some("7")
        );
        assert_eq!(
            param(&[&format!("{base}&application=other")], "weight").as_deref(),
            Some("100")
        );
        assert_eq!(
            param(&[&format!("{base}&application=*")], "weight").as_deref(),
            Some("7")
        );
        assert_eq!(
            param(&[&format!("{base}&side=provider")], "weight").as_deref(),
            Some("100")
        );
        assert_eq!(
            param(&[&format!("{base}&side=consumer")], "weight").as_deref(),
            Some("7")
        );
        assert_eq!(
            param(&[&format!("{base}&~weight=100")], "weight").as_deref(),
            Some("7")
        );
        assert_eq!(
            param(&[&format!("{base}&~weight=50")], "weight").as_deref(),
            Some("100")
        );
        let listed = format!("{base}&providerAddresses=10.0.0.7:20880,10.0.0.9:20880");
        assert_eq!(param(&[&listed], "weight").as_deref(), Some("7"));
        let unlisted = format!("{base}&providerAddresses=10.0.0.9:20880");
        assert_eq!(param(&[&unlisted], "weight").as_deref(), Some("100"));
        assert_eq!(
            param(&[&format!("{base}&enabled=false")], "weight").as_deref(),
            Some("100")
        );
    }

    #[test]
    fn provider_addresses_service_key_and_v27_rules() {
        let base = "override://0.0.0.0/demo.Svc?weight=7";
        for listed in [
            "10.0.0.7",
            "0.0.0.0:*",
            "0.0.0.0:20880",
            "10.0.0.9:1, 10.0.0.7:20880",
        ] {
            let rule = format!("{base}&providerAddresses={listed}");
            assert_eq!(param(&[&rule], "weight").as_deref(), Some("7"), "{listed}");
        }
        // A substring is not an address.
        let rule = format!("{base}&providerAddresses=10.0.0.77:20880");
        assert_eq!(param(&[&rule], "weight").as_deref(), Some("100"));
        // Another service (version) is not configured.
        let other = "override://0.0.0.0/demo.Svc?version=2.0.0&weight=7";
        assert_eq!(param(&[other], "weight").as_deref(), Some("100"));
        let any = "override://0.0.0.0/*?weight=7";
        assert_eq!(param(&[any], "weight").as_deref(), Some("7"));
        // 2.7-style rules: consumer side only, by consumer host.
        let v27 = "override://0.0.0.0/demo.Svc?configVersion=v2.7&side=consumer&weight=7";
        assert_eq!(param(&[v27], "weight").as_deref(), Some("7"));
        let v27_provider = "override://0.0.0.0/demo.Svc?configVersion=v2.7&side=provider&weight=7";
        assert_eq!(param(&[v27_provider], "weight").as_deref(), Some("100"));
        let v27_other = "override://10.9.9.9/demo.Svc?configVersion=v2.7&side=consumer&weight=7";
        assert_eq!(param(&[v27_other], "weight").as_deref(), Some("100"));
    }

    #[test]
    fn absent_fills_only_missing_keys_and_a_host_rule_wins_over_any_host() {
        let absent = "absent://0.0.0.0/demo.Svc?weight=1&loadbalance=roundrobin";
        assert_eq!(param(&[absent], "weight").as_deref(), Some("100"));
        assert_eq!(
            param(&[absent], "loadbalance").as_deref(),
            Some("roundrobin")
        );
        // Given in the other order, the rule naming the provider is still applied last.
        let specific = "override://10.0.0.7:20880/demo.Svc?weight=9";
        let all = "override://0.0.0.0/demo.Svc?weight=8";
        assert_eq!(param(&[specific, all], "weight").as_deref(), Some("9"));
    }

    #[test]
    fn empty_or_a_bare_rule_clears_the_rules() {
        let rule = "override://0.0.0.0/demo.Svc?weight=200";
        assert_eq!(
            param(&[rule, "override://0.0.0.0/demo.Svc"], "weight").as_deref(),
            Some("100")
        );
        assert_eq!(
            param(
                &[rule, "empty://10.0.0.1/demo.Svc?category=configurators"],
                "weight"
            )
            .as_deref(),
            Some("100")
        );
    }

    #[test]
    fn disabled_decides_over_enabled() {
        let p = |s: &[(&str, &str)]| -> Vec<(String, String)> {
            let mut v: Vec<_> = s
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            v.sort();
            v
        };
        assert!(is_enabled(&p(&[])));
        assert!(!is_enabled(&p(&[("disabled", "true")])));
        assert!(is_enabled(&p(&[
            ("disabled", "false"),
            ("enabled", "false")
        ])));
        assert!(!is_enabled(&p(&[("enabled", "false")])));
    }
}
