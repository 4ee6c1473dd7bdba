//! Every public item of the user-facing API has an example in its docs: tether-core's
//! consumer, provider, context, cluster, registry, discovery, metadata, application and url
//! modules and the server and client options, the three executor adapters, the ZooKeeper
//! registry and the thread pools. The check reads the sources: a `pub` fn, struct, enum, trait or type
//! alias (outside `#[cfg(test)]` code) whose doc comment holds no code block fails it.

use std::fs;
use std::path::{Path, PathBuf};

/// The user-facing sources, relative to the workspace root.
const USER_FACING: &[&str] = &[
    "core/src/consumer",
    "core/src/serve",
    "core/src/provider",
    "core/src/context.rs",
    "core/src/cluster",
    "core/src/registry.rs",
    "core/src/discovery",
    "core/src/metadata",
    "core/src/application",
    "core/src/url",
    "core/src/driver/options.rs",
    "exec-tokio/src/lib.rs",
    "exec-smol/src/lib.rs",
    "exec-threadpool/src/lib.rs",
    "exec-threadpool/src/server.rs",
    "exec-threadpool/src/reference.rs",
    "exec-threadpool/src/client.rs",
    "registry-zookeeper/src",
    "pool/src",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = fs::read_dir(path)
            .expect("a source directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// The public items of `source` without an example: `(line, name)`.
fn without_example(source: &str) -> Vec<(usize, String)> {
    let mut missing = Vec::new();
    let mut has_example = false;
    for (at, line) in source.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        if line.starts_with("///") || line.starts_with("//!") {
            has_example |= line.contains("```");
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        let item = [
            "pub fn ",
            "pub async fn ",
            "pub struct ",
            "pub enum ",
            "pub trait ",
            "pub type ",
        ]
        .iter()
        .find_map(|head| line.strip_prefix(head));
        if let Some(rest) = item {
            if !has_example {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                missing.push((at + 1, name));
            }
        }
        has_example = false;
    }
    missing
}

#[test]
fn every_user_facing_item_has_an_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for path in USER_FACING {
        rust_files(&root.join(path), &mut files);
    }
    assert!(files.len() > 10, "the sources were found: {files:?}");
    let mut report = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).expect("a readable source");
        for (line, name) in without_example(&source) {
            report.push(format!("{}:{line}: {name}", file.display()));
        }
    }
    assert!(
        report.is_empty(),
        "public items with no example in their docs:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_scanner_sees_items_with_and_without_examples() {
    let source = "/// Has one.\n///\n/// ```\n/// x();\n/// ```\npub fn with() {}\n\n/// None here.\n#[must_use]\npub fn without() {}\n#[cfg(test)]\nmod tests {\n    pub fn ignored() {}\n}\n";
    assert_eq!(without_example(source), [(10, "without".to_owned())]);
}
