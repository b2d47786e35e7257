//! Tidy checks (rust-analyzer's `tidy.rs` is the model): the architecture
//! invariants `docs/architecture.md` states, checked as ordinary tests from
//! `cargo metadata`, so that a dependency that breaks the layering fails
//! `cargo test` with the crate and the dependency named, instead of waiting
//! for a reviewer to notice.
//!
//! A new workspace crate, or a new dependency between two, must be entered
//! in [`EDGES`] and in the architecture page's table (and a new crate given
//! a paragraph in its code map) before these pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The crates that talk to the user: clap, anyhow and indicatif are theirs.
const FRONT_ENDS: [&str; 3] = ["symile-mimic", "xtask", "symile-mimic-python"];

/// The tests' helpers: a dev-dependency only.
const TEST_SUPPORT: &str = "test-support";

/// The crate that makes the main job resolve the tests' features; it holds
/// no code and only the front ends depend on it.
const WORKSPACE_HACK: &str = "workspace-hack";

/// The dependencies only the front ends may have (normal or build).
const USER_FACING: [&str; 3] = ["clap", "anyhow", "indicatif"];

/// The stage crates, each with the preprocessors that are its own.
const STAGES: [(&str, &[&str]); 3] =
    [("cohort", &[]), ("splits", &["labs-ecdf"]), ("tensors", &["cxr-prep", "ecg-prep"])];

/// Small utilities any crate may use, one job each (reporting progress;
/// Python- and pandas-exact text; an error chain on one line): they know
/// nothing of MIMIC and depend on no workspace crate, not even on each other.
const LEAVES: [&str; 3] = ["progress", "pyfmt", "errors"];

/// The leaves that depend on no crate at all, workspace or not.
const BARE_LEAVES: [&str; 2] = ["progress", "errors"];

/// Every workspace crate and exactly the workspace crates it depends on
/// (normal and build dependencies; dev-dependencies are the tests' own).
/// `docs/architecture.md` shows the same table under "Layers"
/// ([`the_architecture_page_shows_the_dependency_table`]), and the graph it
/// draws is this one. A dependency added or dropped fails
/// [`workspace_dependencies_are_exactly_the_table`] until both say so.
const EDGES: &[(&str, &[&str])] = &[
    // front ends
    (
        "symile-mimic",
        &[
            "cohort",
            "cxr-prep",
            "dataset-layout",
            "durable",
            "errors",
            "evaluate",
            "mimic-io",
            "pipeline",
            "progress",
            "recipe",
            "splits",
            "tensor-store",
            "tensors",
            "verify",
            "workspace-hack",
        ],
    ),
    (
        "xtask",
        &[
            "cohort",
            "cxr-prep",
            "dataset-layout",
            "durable",
            "errors",
            "pipeline",
            "progress",
            "recipe",
            "splits",
            "symile-mimic",
            "synth",
            "tensor-store",
            "tensors",
        ],
    ),
    (
        "symile-mimic-python",
        &["dataset-layout", "errors", "evaluate", "progress", "recipe", "symile-mimic", "tensor-store"],
    ),
    // libraries above the stages
    (
        "pipeline",
        &[
            "cohort",
            "cxr-prep",
            "dataset-layout",
            "durable",
            "errors",
            "mimic-io",
            "progress",
            "recipe",
            "splits",
            "synth",
            "tensors",
        ],
    ),
    ("verify", &["dataset-layout", "durable", "errors", "mimic-io", "progress", "recipe", "tensor-store"]),
    ("evaluate", &["dataset-layout", "tensor-store"]),
    // stages
    ("cohort", &["dataset-layout", "durable", "errors", "mimic-io", "progress", "pyfmt", "recipe"]),
    ("splits", &["dataset-layout", "durable", "labs-ecdf", "mimic-io", "pyfmt", "recipe"]),
    (
        "tensors",
        &[
            "cxr-prep",
            "dataset-card",
            "dataset-layout",
            "durable",
            "ecg-prep",
            "mimic-io",
            "progress",
            "pyfmt",
            "recipe",
            "tensor-store",
        ],
    ),
    // preprocessors and generators
    ("labs-ecdf", &[]),
    ("cxr-prep", &[]),
    ("ecg-prep", &["mimic-io"]),
    ("dataset-card", &["dataset-layout", "mimic-io", "pyfmt"]),
    ("synth", &["durable", "mimic-io"]),
    // foundation
    ("recipe", &["dataset-layout", "errors", "mimic-io"]),
    ("dataset-layout", &["tensor-store"]),
    ("tensor-store", &["durable"]),
    ("durable", &[]),
    ("mimic-io", &["pyfmt"]),
    // leaf utilities
    ("progress", &[]),
    ("pyfmt", &[]),
    ("errors", &[]),
    // the tests' helpers and the feature manifest
    ("test-support", &["durable"]),
    ("workspace-hack", &[]),
];

/// One dependency of a package, as `cargo metadata` states it.
#[derive(Debug)]
struct Dep {
    name: String,
    /// `normal`, `dev` or `build`.
    kind: String,
    /// A path dependency: a crate of this workspace.
    workspace: bool,
}

/// One workspace package.
#[derive(Debug)]
struct Package {
    name: String,
    deps: Vec<Dep>,
    /// `publish = false` (`cargo metadata` gives an empty registry list).
    unpublished: bool,
    /// (kinds, root source file) of each target.
    targets: Vec<(Vec<String>, PathBuf)>,
}

impl Package {
    /// Dependencies that are linked into the package itself (not dev).
    fn linked(&self) -> impl Iterator<Item = &Dep> {
        self.deps.iter().filter(|d| d.kind != "dev")
    }

    /// Every crate but the front ends, the tests' helpers included.
    fn is_library(&self) -> bool {
        !FRONT_ENDS.contains(&self.name.as_str())
    }
}

/// The workspace's packages, from `cargo metadata --no-deps`.
fn packages() -> Vec<Package> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path"])
        .arg(super::workspace_root().join("Cargo.toml"))
        .output()
        .expect("cannot run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let str_of = |v: &Value| v.as_str().expect("a string").to_string();
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| Package {
            name: str_of(&p["name"]),
            deps: p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| Dep {
                    name: str_of(&d["name"]),
                    kind: d["kind"].as_str().unwrap_or("normal").to_string(),
                    workspace: d["path"].is_string(),
                })
                .collect(),
            unpublished: p["publish"].as_array().is_some_and(Vec::is_empty),
            targets: p["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .map(|t| {
                    let kinds = t["kind"].as_array().expect("kind").iter().map(str_of).collect();
                    (kinds, PathBuf::from(str_of(&t["src_path"])))
                })
                .collect(),
        })
        .collect()
}

/// Fails with every violation found, one a line.
#[track_caller]
fn assert_none(what: &str, violations: Vec<String>) {
    assert!(violations.is_empty(), "{what} (docs/architecture.md):\n  {}", violations.join("\n  "));
}

#[test]
fn only_the_front_ends_depend_on_clap_anyhow_or_indicatif() {
    let mut bad = Vec::new();
    for p in packages().iter().filter(|p| p.is_library()) {
        for d in p.linked().filter(|d| USER_FACING.contains(&d.name.as_str())) {
            bad.push(format!("library crate {} depends on {} ({}); only {FRONT_ENDS:?} may", p.name, d.name, d.kind));
        }
    }
    assert_none("libraries know no command line and never talk to the user", bad);
}

#[test]
fn stage_crates_depend_neither_on_each_other_nor_on_another_stages_preprocessors() {
    let mut bad = Vec::new();
    for p in packages() {
        let Some((_, own)) = STAGES.iter().find(|(s, _)| *s == p.name) else { continue };
        for d in p.linked() {
            let other_stage = STAGES.iter().find(|(s, pre)| *s != p.name && (*s == d.name || pre.contains(&&*d.name)));
            if let Some((stage, _)) = other_stage
                && !own.contains(&d.name.as_str())
            {
                let whose =
                    if *stage == d.name { "stage crate".to_string() } else { format!("preprocessor of {stage}") };
                bad.push(format!("stage crate {} depends on {} (a {whose})", p.name, d.name));
            }
        }
    }
    assert_none("stage crates meet only through files on disk", bad);
}

/// The workspace crates `p` depends on, `test-support` as a dev-dependency aside.
fn workspace_deps(p: &Package) -> impl Iterator<Item = &Dep> {
    p.deps.iter().filter(|d| d.workspace && !(d.name == TEST_SUPPORT && d.kind == "dev"))
}

#[test]
fn mimic_io_depends_on_no_workspace_crate_but_the_leaves() {
    let all = packages();
    let p = all.iter().find(|p| p.name == "mimic-io").expect("mimic-io is a workspace member");
    let bad = workspace_deps(p)
        .filter(|d| !LEAVES.contains(&d.name.as_str()))
        .map(|d| {
            format!("mimic-io depends on workspace crate {} ({}); only the leaves {LEAVES:?} may be", d.name, d.kind)
        })
        .collect();
    assert_none("mimic-io depends on no other workspace crate than the leaf utilities", bad);
}

#[test]
fn leaf_crates_depend_on_no_workspace_crate() {
    let all = packages();
    let mut bad = Vec::new();
    for leaf in LEAVES {
        let Some(p) = all.iter().find(|p| p.name == leaf) else {
            bad.push(format!("leaf crate {leaf} is not a workspace member"));
            continue;
        };
        bad.extend(
            workspace_deps(p).map(|d| format!("leaf crate {leaf} depends on workspace crate {} ({})", d.name, d.kind)),
        );
    }
    assert_none("the leaf utilities depend on no workspace crate", bad);
}

#[test]
fn test_support_is_only_ever_a_dev_dependency() {
    let all = packages();
    let mut bad: Vec<String> = all
        .iter()
        .flat_map(|p| p.linked().filter(|d| d.name == TEST_SUPPORT).map(move |d| (p, d)))
        .map(|(p, d)| {
            format!("{} depends on {TEST_SUPPORT} as a {} dependency; only [dev-dependencies] may", p.name, d.kind)
        })
        .collect();
    let ts = all.iter().find(|p| p.name == TEST_SUPPORT).expect("test-support is a workspace member");
    if !ts.unpublished {
        bad.push(format!("{TEST_SUPPORT} must have publish = false"));
    }
    assert_none("test-support is for tests only", bad);
}

/// The workspace crates `p` links (normal and build dependencies).
fn linked_workspace_deps(p: &Package) -> BTreeSet<&str> {
    p.linked().filter(|d| d.workspace).map(|d| d.name.as_str()).collect()
}

#[test]
fn workspace_dependencies_are_exactly_the_table() {
    let all = packages();
    let table: BTreeMap<&str, BTreeSet<&str>> =
        EDGES.iter().map(|(c, deps)| (*c, deps.iter().copied().collect())).collect();
    assert_eq!(table.len(), EDGES.len(), "a crate is listed twice in EDGES");
    let mut bad = Vec::new();
    for p in &all {
        let Some(allowed) = table.get(p.name.as_str()) else {
            bad.push(format!(
                "{} is not in EDGES: add it to xtask/src/tidy.rs, to the table in docs/architecture.md and to the \
                 code map",
                p.name
            ));
            continue;
        };
        let actual = linked_workspace_deps(p);
        for extra in actual.difference(allowed) {
            bad.push(format!("{} depends on {extra}, which the table does not allow", p.name));
        }
        for missing in allowed.difference(&actual) {
            bad.push(format!("{} no longer depends on {missing}: drop the edge from the table", p.name));
        }
    }
    for c in table.keys().filter(|c| !all.iter().any(|p| p.name == **c)) {
        bad.push(format!("EDGES lists {c}, which is not a workspace member"));
    }
    assert_none("the workspace's dependencies are the table's, no more, no fewer", bad);
}

/// The line of the architecture page's table for `krate`.
fn table_row(krate: &str, deps: &[&str]) -> String {
    let deps: Vec<String> = deps.iter().map(|d| format!("`{d}`")).collect();
    let deps = if deps.is_empty() { "—".to_string() } else { deps.join(", ") };
    format!("| `{krate}` | {deps} |")
}

#[test]
fn the_architecture_page_shows_the_dependency_table() {
    let path = super::workspace_root().join("docs/architecture.md");
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `")).collect();
    let want: Vec<String> = EDGES.iter().map(|(c, deps)| table_row(c, deps)).collect();
    let mut bad: Vec<String> =
        want.iter().filter(|w| !rows.contains(&w.as_str())).map(|w| format!("missing or different: {w}")).collect();
    bad.extend(
        rows.iter().filter(|r| !want.iter().any(|w| w == *r)).map(|r| format!("not in EDGES (xtask/src/tidy.rs): {r}")),
    );
    assert_none("docs/architecture.md shows the dependency table of xtask/src/tidy.rs", bad);
}

#[test]
fn progress_and_errors_depend_on_no_crate_at_all() {
    let all = packages();
    let mut bad = Vec::new();
    for leaf in BARE_LEAVES {
        let p = all.iter().find(|p| p.name == leaf).unwrap_or_else(|| panic!("{leaf} is a workspace member"));
        bad.extend(p.linked().map(|d| format!("{leaf} depends on {} ({})", d.name, d.kind)));
    }
    assert_none("progress and errors depend on no other crate", bad);
}

#[test]
fn workspace_hack_is_a_manifest_the_front_ends_depend_on() {
    let all = packages();
    let mut bad: Vec<String> = all
        .iter()
        .filter(|p| !FRONT_ENDS.contains(&p.name.as_str()))
        .flat_map(|p| p.deps.iter().filter(|d| d.name == WORKSPACE_HACK).map(move |d| (p, d)))
        .map(|(p, d)| format!("{} depends on {WORKSPACE_HACK} ({}); only {FRONT_ENDS:?} may", p.name, d.kind))
        .collect();
    let hack = all.iter().find(|p| p.name == WORKSPACE_HACK).expect("workspace-hack is a workspace member");
    bad.extend(hack.deps.iter().filter(|d| d.workspace).map(|d| format!("{WORKSPACE_HACK} depends on {}", d.name)));
    if !hack.unpublished {
        bad.push(format!("{WORKSPACE_HACK} must have publish = false"));
    }
    assert_none("workspace-hack only evens out features", bad);
}

/// Features only the tests' builds have, on purpose: `durable`'s
/// `fault-injection` (a pause between the renames of a commit, which the
/// command's dev-dependencies turn on so that no installed binary or Python
/// module has it). It costs the tests one build of `durable` and of the
/// workspace crates above it after the main job's.
const TEST_ONLY_FEATURES: [(&str, &str); 1] = [("durable", "fault-injection")];

/// `features` (as `cargo tree` prints them, comma-separated) without `feature`.
fn without_feature(features: &str, feature: &str) -> String {
    features.split(',').filter(|f| *f != feature).collect::<Vec<_>>().join(",")
}

/// `(package, features)` of every dependency node `cargo tree` prints for
/// `selection` (a node shows once per feature set: host and target builds
/// of one package may differ).
fn resolved_features(selection: &[&str], edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .arg("tree")
        .args(selection)
        .args(["--offline", "--prefix", "none", "--format", "{p} [{f}]", "-e", edges, "--manifest-path"])
        .arg(super::workspace_root().join("Cargo.toml"))
        .output()
        .expect("cannot run cargo tree");
    assert!(out.status.success(), "cargo tree failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let mut nodes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        if let Some((package, features)) = line.rsplit_once(" [") {
            nodes.entry(package.to_string()).or_default().insert(features.trim_end_matches(']').to_string());
        }
    }
    nodes
}

/// Cargo resolves features for the packages a command selects, and a
/// dependency built with other features is built again, with everything
/// above it. The main job (`cargo xtask build-dataset`, `cargo run -p
/// symile-mimic`) must resolve what `cargo test --workspace` resolves, or
/// the tests compile the workspace a second time after the README's first
/// command; workspace-hack's manifest is where a difference is evened out.
///
/// One difference is by design: [`TEST_ONLY_FEATURES`].
#[test]
fn the_main_job_and_the_tests_resolve_the_same_features() {
    let tests = resolved_features(&["--workspace"], "normal,build,dev");
    let mut bad = Vec::new();
    for main in ["xtask", "symile-mimic"] {
        for (package, features) in resolved_features(&["-p", main], "normal,build") {
            let mut in_tests = tests.get(&package).cloned().unwrap_or_default();
            if let Some((_, feature)) = TEST_ONLY_FEATURES.iter().find(|(p, _)| package.starts_with(&format!("{p} v")))
            {
                in_tests = in_tests.iter().map(|f| without_feature(f, feature)).collect();
            }
            if !features.is_subset(&in_tests) {
                bad.push(format!("{package}: {main} builds it with {features:?}, the tests with {in_tests:?}"));
            }
        }
    }
    assert_none("the tests reuse the main job's build (add the difference to crates/workspace-hack)", bad);
}

#[test]
fn one_integration_test_binary_per_package() {
    let mut bad = Vec::new();
    for p in packages() {
        let tests: Vec<String> = p
            .targets
            .iter()
            .filter(|(kinds, _)| kinds.iter().any(|k| k == "test"))
            .map(|(_, path)| path.display().to_string())
            .collect();
        if tests.len() > 1 {
            bad.push(format!(
                "{} has {} test targets ({}); make them modules of tests/it/main.rs",
                p.name,
                tests.len(),
                tests.join(", ")
            ));
        }
    }
    assert_none("one integration-test binary per package (one link, one process)", bad);
}

#[test]
fn every_crate_root_starts_with_a_module_doc() {
    let roots = ["lib", "rlib", "cdylib", "proc-macro", "bin", "test"];
    let mut bad = Vec::new();
    for p in packages() {
        for (kinds, path) in &p.targets {
            if !kinds.iter().any(|k| roots.contains(&k.as_str())) {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if !text.starts_with("//!") {
                bad.push(format!(
                    "{} ({}): {} does not start with a `//!` module doc",
                    p.name,
                    kinds.join(","),
                    path.display()
                ));
            }
        }
    }
    assert_none("every crate root says what the crate is for", bad);
}
