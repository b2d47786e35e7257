//! `README.md`, the dataset card.

use std::fmt::Write as _;

use mimic_io::discover::Project;

use crate::{CROISSANT, CardInput, Format, Provenance, README, SUMS_FILE, cite, croissant, facts, files};

pub(crate) fn render(input: &CardInput) -> String {
    let mut md = String::new();
    let provenance = Provenance::of(input);
    let _ = writeln!(md, "# {}\n", croissant::name(provenance));
    match provenance {
        Provenance::Published => {}
        Provenance::Synthetic => md.push_str(
            "> **Synthetic data, not the Symile-MIMIC dataset.** Every row was made by symile-mimic's generator; \
             none describes a real patient.\n\n",
        ),
        Provenance::PublishedRecipeOtherReleases | Provenance::Variant => md.push_str(
            "> **A variant, not the published Symile-MIMIC dataset.** Cite and describe it as a variant.\n\n",
        ),
    }
    let _ = writeln!(md, "{} {}\n", facts::what_it_is(input), facts::what_a_row_is(input));
    let _ = writeln!(md, "{}\n", facts::which_dataset(input));
    let _ = writeln!(md, "{}\n", facts::access(input));

    section_build(&mut md, input);
    section_splits(&mut md, input);
    section_files(&mut md, input);
    section_loading(&mut md, input);
    section_evaluating(&mut md);
    section_responsible_use(&mut md, input);
    section_citing(&mut md, input);
    md.push_str("## Licence and access\n\n");
    md.push_str(&facts::licence(input));
    md.push('\n');
    md
}

fn section_build(md: &mut String, input: &CardInput) {
    md.push_str("## How it was built\n\n");
    let recipe = if input.recipe_is_published {
        "the published Symile-MIMIC recipe (below)"
    } else {
        "the recipe below, which is not the published Symile-MIMIC recipe"
    };
    if input.synthetic {
        let _ = writeln!(
            md,
            "Built by [symile-mimic]({}) {} with {}, from its embedded synthetic demo input (the generator's \
             MIMIC-shaped tables, images and ECG records), not from MIMIC.\n",
            cite::REPOSITORY,
            input.tool_version,
            recipe
        );
    } else {
        let _ = writeln!(
            md,
            "Built by [symile-mimic]({}) {} with {}, from these MIMIC releases:\n",
            cite::REPOSITORY,
            input.tool_version,
            recipe
        );
        md.push_str("| MIMIC project | release |\n|---|---|\n");
        for project in Project::ALL {
            let release = input.versions.get(project).unwrap_or("not recorded");
            let _ = writeln!(md, "| {} | {} |", project.name(), cell(release));
        }
        md.push('\n');
    }
    if !input.recipe_summary.is_empty() {
        md.push_str("| setting | value |\n|---|---|\n");
        for (key, value) in &input.recipe_summary {
            let _ = writeln!(md, "| `{}` | {} |", key.replace('`', "'"), cell(value));
        }
        md.push('\n');
    }
    md.push_str("The effective recipe, verbatim:\n\n");
    let fence = fence_for(&input.recipe_toml);
    let _ = write!(md, "{fence}toml\n{}", input.recipe_toml);
    if !input.recipe_toml.ends_with('\n') {
        md.push('\n');
    }
    let _ = writeln!(md, "{fence}\n");
}

fn section_splits(md: &mut String, input: &CardInput) {
    md.push_str("## Splits\n\n");
    md.push_str("| split | rows | queries | candidates per query |\n|---|---:|---:|---:|\n");
    let opt = |v: Option<usize>| v.map(thousands).unwrap_or_else(|| "—".to_string());
    for s in &input.splits {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} |",
            s.name.replace('`', "'"),
            thousands(s.rows),
            opt(s.queries),
            opt(s.candidates_per_query)
        );
    }
    md.push('\n');
    md.push_str(
        "No patient is in two splits. `val_retrieval` and `test` are retrieval sets: first every query (its own \
         row, `label` = 1), then each query's negatives, rows of other queries of the same split copied with \
         `label` = 0 and `label_hadm_id` = the query's `hadm_id`. A query's candidates are the rows sharing its \
         `label_hadm_id`.\n\n",
    );
}

fn section_files(md: &mut String, input: &CardInput) {
    md.push_str("## Files\n\n");
    let _ = writeln!(
        md,
        "Every file is described byte by byte in [formats.md]({}): columns, tensor shapes, dtypes and value \
         ranges. The lab columns of the tensors are in sorted itemid order, not the CSVs' order.\n",
        cite::FORMATS_URL
    );
    md.push_str("| file | size | holds |\n|---|---:|---|\n");
    for f in &input.files {
        // The card cannot state its own size, nor the file that hashes it.
        if f.path == README || f.path == CROISSANT {
            continue;
        }
        let holds = files::describe(&f.path, input).unwrap_or_else(|| "—".to_string());
        let _ = writeln!(md, "| `{}` | {} | {} |", f.path, size(f.bytes), cell(&holds));
    }
    if input.checksums {
        // Written after the card (it holds the card's digest), so its size is not known here.
        let holds = files::describe(SUMS_FILE, input).unwrap_or_default();
        let _ = writeln!(md, "| `{SUMS_FILE}` | — | {} |", cell(&holds));
        let _ = writeln!(
            md,
            "\nWith them, this `{README}` and `{CROISSANT}` (Croissant 1.1 metadata: every file with its size and \
             SHA-256, and the columns of each CSV as a record set). `{SUMS_FILE}` lists the SHA-256 of every file, \
             these two included.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "\nWith them, this `{README}`. There is no `{CROISSANT}`: this build kept no checksums \
             (`--no-checksums`), and Croissant metadata gives every file's SHA-256. To get it, build again \
             without `--no-checksums` (in Python, without `no_checksums=True`).\n"
        );
    }
}

fn section_loading(md: &mut String, input: &CardInput) {
    md.push_str("## Loading\n\n");
    md.push_str(
        "With the `symile_mimic` Python package (`pip install .` in the symile-mimic repository), a split reads \
         row by row in place, whatever the tensor format:\n\n",
    );
    md.push_str(
        "```python\nimport symile_mimic\n\nroot = \"path/to/this/directory\"\nds = symile_mimic.Dataset(root, \
         \"train\")\nsample = ds[0]   # numpy arrays: cxr, ecg, labs_percentiles, labs_missingness, hadm_id\n\
         batch = ds[0:8]  # the same keys with a leading batch dimension\n```\n\n",
    );
    md.push_str("A `Dataset` is a PyTorch map-style dataset, so a `DataLoader` batches it, with worker processes:\n\n");
    md.push_str(
        "```python\nimport torch\nimport symile_mimic\n\nroot = \"path/to/this/directory\"\nds = \
         symile_mimic.Dataset(root, \"train\")\nloader = torch.utils.data.DataLoader(ds, batch_size=8, \
         shuffle=True, num_workers=2)\nbatch = next(iter(loader))   # torch tensors: batch[\"cxr\"] is (8, 3, H, W)\n\
         ```\n\n",
    );
    md.push_str("The tensor files alone, one tensor per file named like the file stem, with numpy:\n\n");
    match input.tensor_format {
        Format::Safetensors => md.push_str(
            "```python\nfrom safetensors.numpy import load_file\n\nroot = \"path/to/this/directory\"\ncxr = \
             load_file(f\"{root}/train/cxr_train.safetensors\")[\"cxr_train\"]   # float32 (n, 3, H, W)\n```\n\n\
             `safetensors.safe_open(path, framework=\"np\")` and `get_slice(name)[i:j]` read rows lazily.\n\n",
        ),
        Format::Npy => md.push_str(
            "```python\nimport numpy as np\n\nroot = \"path/to/this/directory\"\ncxr = \
             np.load(f\"{root}/train/cxr_train.npy\", mmap_mode=\"r\")   # float32 (n, 3, H, W), memory-mapped\n\
             ```\n\n",
        ),
        Format::Pt => md.push_str(
            "A `.pt` file is a torch archive: numpy reads it through `symile_mimic.Dataset` (above), or through \
             torch as below.\n\n",
        ),
    }
    md.push_str("With torch:\n\n");
    match input.tensor_format {
        Format::Safetensors => md.push_str(
            "```python\nimport torch\nfrom safetensors.torch import load_file\n\nroot = \
             \"path/to/this/directory\"\ncxr = load_file(f\"{root}/train/cxr_train.safetensors\")[\"cxr_train\"]   \
             # torch.float32 (n, 3, H, W)\n```\n\n",
        ),
        Format::Npy => md.push_str(
            "```python\nimport numpy as np\nimport torch\n\nroot = \"path/to/this/directory\"\ncxr = \
             torch.from_numpy(np.load(f\"{root}/train/cxr_train.npy\"))   # torch.float32 (n, 3, H, W)\n```\n\n",
        ),
        Format::Pt => md.push_str(
            "```python\nimport torch\n\nroot = \"path/to/this/directory\"\ncxr = \
             torch.load(f\"{root}/train/cxr_train.pt\", mmap=True, weights_only=True)   # torch.float32 (n, 3, H, \
             W)\n```\n\n",
        ),
    }
    if input.checksums {
        md.push_str(
            "The CSVs with pandas, or every CSV as a record set through Croissant:\n\n```python\nimport pandas as \
             pd\nimport mlcroissant as mlc\n\nroot = \"path/to/this/directory\"\ntrain = \
             pd.read_csv(f\"{root}/train.csv\")\nfor record in mlc.Dataset(jsonld=f\"{root}/croissant.json\").records(\
             \"test\"):\n    print(record[\"test/hadm_id\"])   # fields are named <record set>/<column>, URL-escaped\n    \
             break\n```\n\n",
        );
    } else {
        md.push_str(
            "The CSVs with pandas:\n\n```python\nimport pandas as pd\n\nroot = \"path/to/this/directory\"\ntrain = \
             pd.read_csv(f\"{root}/train.csv\")\n```\n\n",
        );
    }
}

fn section_evaluating(md: &mut String) {
    md.push_str("## Evaluating\n\n");
    md.push_str(
        "Retrieval is scored on `val_retrieval` (model selection) and `test` (reporting). Give one score per row of \
         the split, in row order (higher: more likely the query's own CXR); each query's candidates are the rows \
         sharing its `label_hadm_id`, and a query counts as correct when its own row (`label` = 1) scores \
         highest.\n\n```python\nimport numpy as np\nimport symile_mimic\n\nroot = \
         \"path/to/this/directory\"\nscores = np.load(\"test_scores.npy\")   # float, one per row of test\n\
         result = symile_mimic.evaluate(root, \"test\", scores, bootstrap=1000)\n```\n\n```sh\nsymile-mimic \
         evaluate path/to/this/directory --split test --scores test_scores.npy\n```\n\n",
    );
    let _ = writeln!(md, "Both are described in [evaluate.md]({}).\n", cite::EVALUATE_URL);
}

fn section_responsible_use(md: &mut String, input: &CardInput) {
    md.push_str("## Limitations and biases\n\n");
    let _ = writeln!(md, "{}\n", facts::limitations(input));
    for b in facts::biases(input) {
        let _ = writeln!(md, "- {b}");
    }
    md.push_str("\nSensitive information:\n\n");
    for s in facts::sensitive(input) {
        let _ = writeln!(md, "- {s}");
    }
    md.push_str("\nUses:\n\n");
    for u in facts::use_cases(input) {
        let _ = writeln!(md, "- {u}");
    }
    md.push('\n');
}

fn section_citing(md: &mut String, input: &CardInput) {
    md.push_str("## Citing\n\n");
    md.push_str(if input.synthetic {
        "These rows are synthetic: nothing here is a source of data to cite. When you describe the dataset they \
         imitate, cite the Symile paper and the Symile-MIMIC dataset, the MIMIC releases and PhysioNet:\n\n"
    } else {
        "Cite the Symile paper and the Symile-MIMIC dataset, the MIMIC releases the build read, and PhysioNet:\n\n"
    });
    for (i, line) in cite::citations(&input.versions).iter().enumerate() {
        let _ = writeln!(md, "{}. {line}", i + 1);
    }
    md.push_str("\nBibTeX for the first two:\n\n```bibtex\n");
    md.push_str(&cite::bibtex());
    md.push_str("```\n\n");
}

/// A table cell: `|` escaped, line breaks as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// `12,345`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `980 B`, `13.2 kB`, `12.3 GB` (powers of 1000, one decimal).
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    // Integer arithmetic, so the rounding is the same on every machine.
    let tenths_at = |scale: u128| (u128::from(bytes) * 10 + scale / 2) / scale;
    let mut unit = 0;
    let mut scale = 1000u128;
    while unit + 1 < UNITS.len() && tenths_at(scale) >= 10_000 {
        unit += 1;
        scale *= 1000;
    }
    let tenths = tenths_at(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_print_the_same_everywhere() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1000), "1.0 kB");
        assert_eq!(size(13_244), "13.2 kB");
        assert_eq!(size(999_949), "999.9 kB");
        assert_eq!(size(999_950), "1.0 MB");
        assert_eq!(size(12_288_000_128), "12.3 GB");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(11_622), "11,622");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn fences_outgrow_backticks() {
        assert_eq!(fence_for("a = 1\n"), "```");
        assert_eq!(fence_for("note = \"````\"\n"), "`````");
    }
}
