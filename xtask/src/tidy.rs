//! Tidy checks (rust-analyzer's `tidy.rs` is the model): the architecture
//! invariants `docs/architecture.md` states, checked as ordinary tests from
//! `cargo metadata`, so that a dependency that breaks the layering fails
//! `cargo test` with the crate and the dependency named, instead of waiting
//! for a reviewer to notice.
//!
//! A new workspace crate must be given its place in [`LAYERS`] (and a
//! paragraph in the architecture page's code map) before these pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The crates that talk to the user: clap, anyhow and indicatif are theirs.
const FRONT_ENDS: [&str; 3] = ["symile-mimic", "xtask", "symile-mimic-python"];

/// The tests' helpers: a dev-dependency only, exempt from the library rules.
const TEST_SUPPORT: &str = "test-support";

/// The crate that makes the main job resolve the tests' features; it holds
/// no code and only the front ends depend on it.
const WORKSPACE_HACK: &str = "workspace-hack";

/// The dependencies only the front ends may have (normal or build).
const USER_FACING: [&str; 3] = ["clap", "anyhow", "indicatif"];

/// The stage crates, each with the preprocessors that are its own.
const STAGES: [(&str, &[&str]); 3] =
    [("cohort", &[]), ("splits", &["labs-ecdf"]), ("tensors", &["cxr-prep", "ecg-prep"])];

/// The layers of the architecture page, top first: a crate depends only on
/// crates of lower layers, except that the other front ends use the
/// command's library (`symile-mimic`: its clap definitions and `app`), and
/// that inside the foundation the order is [`FOUNDATION`]'s.
const LAYERS: [(&str, &[&str]); 6] = [
    ("front ends", &FRONT_ENDS),
    ("libraries above the stages", &["pipeline", "verify", "evaluate"]),
    ("stages", &["cohort", "splits", "tensors"]),
    ("preprocessors and generators", &["labs-ecdf", "cxr-prep", "ecg-prep", "dataset-card", "synth"]),
    ("foundation", &FOUNDATION),
    ("leaf utilities", &LEAVES),
];

/// Where [`FOUNDATION`] is in [`LAYERS`].
const FOUNDATION_LAYER: usize = 4;

/// The foundation, each crate above the ones after it: `recipe ──►
/// dataset-layout ──► tensor-store`, then `durable`, which depends on no
/// workspace crate, and `mimic-io`, which depends on none but [`LEAVES`].
const FOUNDATION: [&str; 5] = ["recipe", "dataset-layout", "tensor-store", "durable", "mimic-io"];

/// Small utilities any crate may use, one job each (reporting progress;
/// Python- and pandas-exact text; an error chain on one line): they know
/// nothing of MIMIC and depend on no workspace crate, not even on each other.
const LEAVES: [&str; 3] = ["progress", "pyfmt", "errors"];

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

    fn is_library(&self) -> bool {
        !FRONT_ENDS.contains(&self.name.as_str()) && self.name != TEST_SUPPORT
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

#[test]
fn dependencies_point_down_the_layers() {
    let all = packages();
    let rank: BTreeMap<&str, (usize, usize)> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(l, (_, crates))| crates.iter().enumerate().map(move |(i, c)| (*c, (l, i))))
        .collect();
    assert_eq!(LAYERS[FOUNDATION_LAYER].1, FOUNDATION, "FOUNDATION_LAYER names the foundation's place");
    let foundation = FOUNDATION_LAYER;
    let mut bad = Vec::new();
    for p in all.iter().filter(|p| p.name != TEST_SUPPORT && p.name != WORKSPACE_HACK) {
        let Some(&(layer, pos)) = rank.get(p.name.as_str()) else {
            bad.push(format!("{} has no layer: add it to LAYERS in xtask/src/tidy.rs and to the code map", p.name));
            continue;
        };
        for d in p.linked().filter(|d| d.workspace && d.name != WORKSPACE_HACK) {
            let Some(&(dl, dpos)) = rank.get(d.name.as_str()) else {
                bad.push(format!("{} depends on {}, which has no layer", p.name, d.name));
                continue;
            };
            let down = dl > layer
                || (dl == 0 && layer == 0 && d.name == FRONT_ENDS[0] && p.name != FRONT_ENDS[0])
                || (dl == foundation && layer == foundation && dpos > pos);
            if !down {
                bad.push(format!(
                    "{} ({}) depends on {} ({}): nothing points up or sideways",
                    p.name, LAYERS[layer].0, d.name, LAYERS[dl].0
                ));
            }
        }
    }
    assert_none("arrows point at what a crate depends on; nothing points up", bad);
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
#[test]
fn the_main_job_and_the_tests_resolve_the_same_features() {
    let tests = resolved_features(&["--workspace"], "normal,build,dev");
    let mut bad = Vec::new();
    for main in ["xtask", "symile-mimic"] {
        for (package, features) in resolved_features(&["-p", main], "normal,build") {
            let in_tests = tests.get(&package).cloned().unwrap_or_default();
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
