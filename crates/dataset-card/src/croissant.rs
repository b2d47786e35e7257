//! `croissant.json`: Croissant 1.1 JSON-LD with the Responsible-AI vocabulary.
//!
//! The `@context` is the one of the Croissant 1.1 example datasets
//! (`datasets/1.1/*/metadata.json` in github.com/mlcommons/croissant, e.g.
//! `image_test`), plus `equivalentProperty` from the 1.1 specification's
//! JSON-LD context (its appendix 1): exactly the keys mlcroissant 1.1 checks
//! for, so `mlcroissant validate` does not call it non-standard.
//!
//! Identifiers: a `cr:FileObject`'s `@id`, `name` and `contentUrl` are the
//! file's relative path; a `cr:RecordSet` is named after its CSV's stem
//! (`test`), and its fields' `@id`s are `<stem>/<column>` with every byte of
//! the column outside RFC 3986's unreserved set percent-encoded
//! (`test/Lung%20Opacity`, `test/51221_percentile`), so each is a valid
//! relative IRI; the `name` and the extracted `column` stay verbatim.

use crate::json::Json;
use crate::{CardInput, ColumnKind, CsvTable, FileEntry, Provenance, cite, csv_stem, facts, files};
use mimic_io::discover::Project;

/// The Croissant version this file conforms to.
const CONFORMS_TO: &str = "http://mlcommons.org/croissant/1.1";

fn context() -> Json {
    let term = |id: &str, ty: &str| Json::obj([("@id", Json::str(id)), ("@type", Json::str(ty))]);
    let s = Json::str;
    Json::obj([
        ("@language", s("en")),
        ("@vocab", s("https://schema.org/")),
        ("citeAs", s("cr:citeAs")),
        ("column", s("cr:column")),
        ("conformsTo", s("dct:conformsTo")),
        ("containedIn", s("cr:containedIn")),
        ("cr", s("http://mlcommons.org/croissant/")),
        ("rai", s("http://mlcommons.org/croissant/RAI/")),
        ("data", term("cr:data", "@json")),
        ("dataType", term("cr:dataType", "@vocab")),
        ("dct", s("http://purl.org/dc/terms/")),
        ("equivalentProperty", s("cr:equivalentProperty")),
        ("examples", term("cr:examples", "@json")),
        ("extract", s("cr:extract")),
        ("field", s("cr:field")),
        ("fileProperty", s("cr:fileProperty")),
        ("fileObject", s("cr:fileObject")),
        ("fileSet", s("cr:fileSet")),
        ("format", s("cr:format")),
        ("includes", s("cr:includes")),
        ("isLiveDataset", s("cr:isLiveDataset")),
        ("jsonPath", s("cr:jsonPath")),
        ("key", s("cr:key")),
        ("md5", s("cr:md5")),
        ("parentField", s("cr:parentField")),
        ("path", s("cr:path")),
        ("recordSet", s("cr:recordSet")),
        ("references", s("cr:references")),
        ("regex", s("cr:regex")),
        ("repeated", s("cr:repeated")),
        ("replace", s("cr:replace")),
        ("samplingRate", s("cr:samplingRate")),
        ("sc", s("https://schema.org/")),
        ("separator", s("cr:separator")),
        ("source", s("cr:source")),
        ("subField", s("cr:subField")),
        ("transform", s("cr:transform")),
    ])
}

pub(crate) fn render(input: &CardInput) -> String {
    let provenance = Provenance::of(input);
    let strs = |v: Vec<String>| Json::Arr(v.into_iter().map(Json::Str).collect());
    let mut doc: Vec<(String, Json)> = vec![
        ("@context".into(), context()),
        ("@type".into(), Json::str("sc:Dataset")),
        ("name".into(), Json::str(name(provenance))),
        ("description".into(), Json::Str(description(input))),
        ("conformsTo".into(), Json::str(CONFORMS_TO)),
        ("citeAs".into(), Json::Str(cite::bibtex())),
        (
            "creator".into(),
            Json::Arr(
                cite::AUTHORS
                    .iter()
                    .map(|name| Json::obj([("@type", Json::str("sc:Person")), ("name", Json::str(*name))]))
                    .collect(),
            ),
        ),
        ("datePublished".into(), Json::Str(crate::date_published(input))),
    ];
    doc.extend([
        (
            "keywords".into(),
            strs(
                [
                    "multimodal",
                    "contrastive learning",
                    "retrieval",
                    "chest X-ray",
                    "electrocardiogram",
                    "laboratory tests",
                    "MIMIC-IV",
                    "MIMIC-CXR-JPG",
                    "MIMIC-IV-ECG",
                ]
                .map(String::from)
                .to_vec(),
            ),
        ),
        ("license".into(), Json::str(if input.synthetic { cite::MIT_URL } else { cite::LICENSE_URL })),
        ("conditionsOfAccess".into(), Json::str(conditions_of_access(input))),
        (
            "url".into(),
            Json::str(if provenance == Provenance::Published { cite::SYMILE_MIMIC_URL } else { cite::REPOSITORY }),
        ),
        ("version".into(), Json::Str(crate::dataset_version(input))),
        ("isBasedOn".into(), strs(based_on(input))),
        ("rai:dataCollection".into(), Json::Str(facts::data_collection(input))),
        ("rai:dataCollectionType".into(), strs(vec![facts::collection_type(input).into()])),
        ("rai:dataCollectionRawData".into(), Json::Str(facts::raw_data(input))),
        ("rai:dataPreprocessingProtocol".into(), strs(facts::preprocessing(input))),
        ("rai:dataImputationProtocol".into(), Json::Str(facts::imputation())),
        ("rai:dataLimitations".into(), Json::Str(facts::limitations(input))),
        ("rai:dataBiases".into(), strs(facts::biases(input))),
        ("rai:personalSensitiveInformation".into(), strs(facts::sensitive(input))),
        ("rai:dataUseCases".into(), strs(facts::use_cases(input))),
        ("rai:dataReleaseMaintenancePlan".into(), strs(vec![facts::maintenance(input)])),
        ("distribution".into(), Json::Arr(input.files.iter().map(|f| file_object(f, input)).collect())),
        ("recordSet".into(), Json::Arr(input.csvs.iter().map(record_set).collect())),
    ]);
    Json::Obj(doc).pretty()
}

/// The dataset's `name`.
pub(crate) fn name(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::Published => "Symile-MIMIC",
        Provenance::Synthetic => "Symile-MIMIC (synthetic demo)",
        Provenance::PublishedRecipeOtherReleases | Provenance::Variant => "Symile-MIMIC (variant)",
    }
}

fn conditions_of_access(input: &CardInput) -> &'static str {
    if input.synthetic {
        "None: synthetic data with no patient information, not derived from PhysioNet data, under the MIT licence."
    } else {
        "Credentialed access: only credentialed PhysioNet users who have signed the data use agreements of \
         MIMIC-IV and MIMIC-CXR-JPG may access this data, under the PhysioNet Credentialed Health Data License \
         1.5.0."
    }
}

fn description(input: &CardInput) -> String {
    let counts: Vec<String> = input
        .splits
        .iter()
        .map(|s| match (s.queries, s.candidates_per_query) {
            (Some(q), Some(k)) => format!("{} {} rows ({q} queries x {k} candidates)", s.name, s.rows),
            (Some(q), None) => format!("{} {} rows ({q} queries)", s.name, s.rows),
            _ => format!("{} {} rows", s.name, s.rows),
        })
        .collect();
    format!(
        "{} {} {} Built by symile-mimic {}; splits: {}. Tensors as {}.",
        facts::what_it_is(input),
        facts::what_a_row_is(input),
        facts::which_dataset(input),
        input.tool_version,
        counts.join(", "),
        input.tensor_format.extension()
    )
}

/// The DOIs (or pages) of the MIMIC releases read; none for synthetic data,
/// which only has their layout.
fn based_on(input: &CardInput) -> Vec<String> {
    let mut out = Vec::new();
    if input.synthetic {
        return out;
    }
    for project in Project::ALL {
        if let Some(v) = input.versions.get(project) {
            out.push(match cite::release_doi(project, v) {
                Some(doi) => format!("https://doi.org/{doi}"),
                None => cite::release_page(project, v),
            });
        }
    }
    out
}

fn file_object(f: &FileEntry, input: &CardInput) -> Json {
    let mut o: Vec<(&str, Json)> =
        vec![("@type", Json::str("cr:FileObject")), ("@id", Json::str(&f.path)), ("name", Json::str(&f.path))];
    if let Some(d) = files::describe(&f.path, input) {
        o.push(("description", Json::Str(d.replace('`', ""))));
    }
    o.extend([
        ("contentUrl", Json::str(&f.path)),
        ("encodingFormat", Json::str(encoding_format(&f.path))),
        ("contentSize", Json::Str(format!("{} B", f.bytes))),
        ("sha256", Json::str(&f.sha256)),
    ]);
    Json::obj(o)
}

/// The MIME type of a file, by extension. safetensors and npy have no
/// registered type; these are the ones in common use. A torch `.pt` file is a
/// ZIP archive.
fn encoding_format(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("parquet") => "application/x-parquet",
        Some("safetensors") => "application/x-safetensors",
        Some("npy") => "application/x-npy",
        Some("pt") => "application/zip",
        Some("md") => "text/markdown",
        Some("txt") => "text/plain",
        Some("toml") => "application/toml",
        _ => "application/octet-stream",
    }
}

fn record_set(table: &CsvTable) -> Json {
    let stem = csv_stem(&table.file);
    let id = escape(stem);
    let fields = table
        .columns
        .iter()
        .map(|c| {
            Json::obj([
                ("@type", Json::str("cr:Field")),
                ("@id", Json::Str(format!("{id}/{}", escape(&c.name)))),
                ("name", Json::str(&c.name)),
                ("dataType", Json::str(ColumnKind::croissant_type(c.kind))),
                (
                    "source",
                    Json::obj([
                        ("fileObject", Json::id_ref(&table.file)),
                        ("extract", Json::obj([("column", Json::str(&c.name))])),
                    ]),
                ),
            ])
        })
        .collect();
    Json::obj([
        ("@type", Json::str("cr:RecordSet")),
        ("@id", Json::Str(id.clone())),
        ("name", Json::str(stem)),
        (
            "description",
            Json::Str(format!("The rows of {}, one record per row, the columns in file order.", table.file)),
        ),
        ("field", Json::Arr(fields)),
    ])
}

/// Percent-encodes every byte outside RFC 3986's unreserved characters.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_escape_what_an_iri_cannot_hold() {
        assert_eq!(escape("Lung Opacity"), "Lung%20Opacity");
        assert_eq!(escape("51221_percentile"), "51221_percentile");
        assert_eq!(escape("a/b#c"), "a%2Fb%23c");
        assert_eq!(escape("é"), "%C3%A9");
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(encoding_format("train/cxr_train.safetensors"), "application/x-safetensors");
        assert_eq!(encoding_format("SHA256SUMS.txt"), "text/plain");
        assert_eq!(encoding_format("test/label_test.pt"), "application/zip");
        assert_eq!(encoding_format("recipe.toml"), "application/toml");
        assert_eq!(encoding_format("LICENSE"), "application/octet-stream");
    }
}
