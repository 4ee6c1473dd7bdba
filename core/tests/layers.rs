//! The module layering of the core crate (the table in the crate docs, "Layers"): every
//! `crate::<module>` path in a module's sources (tests excluded) names a module of a lower
//! rank. Ranks order the modules so that this forbids any import cycle between them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Each top-level module and its rank: a module may use only modules of a lower rank.
const RANKS: &[(&str, u32)] = &[
    // codec
    ("hessian2", 0),
    ("frame", 0),
    ("payload", 0),
    ("callback", 0),
    ("url", 0),
    // protocol
    ("error", 1),
    ("call", 1),
    ("message", 1),
    ("event", 2),
    ("pending", 3),
    ("outbound", 3),
    ("config", 4),
    ("connection", 5),
    ("shared", 6),
    // service
    ("context", 7),
    ("registry", 8),
    ("invoke", 8),
    // Strategies read the consumer's errors (invoke); a registry feeds directories.
    ("cluster", 9),
    ("serve", 9),
    // A directory fed by a registry: above both `cluster` and `registry`.
    ("discovery", 10),
    ("consumer", 10),
    ("provider", 10),
    // Dubbo 3's application-level metadata: registry records served by a provider.
    ("metadata", 11),
    // runtime
    ("driver", 11),
    // re-exports for users
    ("application", 12),
    ("prelude", 13),
];

/// Modules outside the layering: the crate root, test and bench support.
const EXEMPT: &[&str] = &["lib", "test_util", "__bench"];

fn rank(module: &str) -> Option<u32> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The `crate::<module>` names used by the non-test code of `source`, including each name of
/// a grouped `use crate::{a, b::C}`.
fn uses(source: &str) -> Vec<String> {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let name = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each top-level item of the group.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        found.push(name(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(name(rest));
        }
    }
    found
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            visit(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    let mut violations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap();
        let module = first.as_os_str().to_str().unwrap().trim_end_matches(".rs");
        if EXEMPT.contains(&module) {
            continue;
        }
        let Some(own) = rank(module) else {
            panic!(
                "{module} ({}) is not in RANKS: give it a layer",
                file.display()
            );
        };
        for used in uses(&fs::read_to_string(file).unwrap()) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                Some(_) => violations
                    .entry(format!("{}", relative.display()))
                    .or_default()
                    .push(used),
                None if used.is_empty() => {
                    panic!("an unreadable crate:: path in {}", relative.display())
                }
                None if EXEMPT.contains(&used.as_str()) => {}
                // A re-export of the crate root (`crate::Completion`...) is fine only for
                // items the root re-exports from lower layers; they are checked where
                // defined.
                None if used.starts_with(|c: char| c.is_ascii_uppercase()) => {}
                None => panic!("{used} (used in {}) is not in RANKS", relative.display()),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules using a module of the same or a higher layer: {violations:#?}"
    );
}

#[test]
fn the_scanner_finds_uses_and_skips_comments_and_tests() {
    let source = "use crate::frame::Status;\n// crate::driver in a comment\nuse crate::{\n    event::Event,\n    message::{self, Attachments},\n    shared,\n};\nfn f() { crate::call::pair(); }\n#[cfg(test)]\nmod tests {\n use crate::consumer;\n}\n";
    assert_eq!(
        uses(source),
        ["frame", "event", "message", "shared", "call"]
    );
}
