//! Every JSON line a test reads from v6probe is checked against the published contract,
//! `schema/v6probe.schema.json` (JSON Schema 2020-12), with the `jsonschema` crate: a line that
//! does not validate, or a `kind` the schema lacks, fails the test that printed it, naming the
//! line and each error.
//!
//! The schema is compiled into this crate (`include_str!`), so editing it rebuilds the tests.
//! Formats (`ipv6`, `ipv4`, `date-time`) are checked, not just annotated.
use std::{collections::BTreeMap, sync::OnceLock};

use jsonschema::{error::ValidationErrorKind, ValidationError, Validator};
use serde_json::Value;

/// The schema file, as published.
pub const SCHEMA: &str = include_str!("../../schema/v6probe.schema.json");

struct Compiled {
    /// The whole schema (the `oneOf` over every kind), as a consumer would use it.
    whole: Validator,
    /// One validator per kind (`$ref` to its definition), for errors that name the field
    /// instead of "not valid under any of the schemas in oneOf".
    per_kind: BTreeMap<String, Validator>,
}

fn build(schema: &Value, what: &str) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("schema/v6probe.schema.json: {what} does not compile: {e}"))
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA)
            .unwrap_or_else(|e| panic!("schema/v6probe.schema.json is not JSON: {e}"));
        let whole = build(&schema, "the schema");
        let per_kind = kinds_of(&schema)
            .into_iter()
            .map(|kind| {
                let mut one = schema.clone();
                if let Some(o) = one.as_object_mut() {
                    for k in ["oneOf", "properties", "required", "type"] {
                        o.remove(k);
                    }
                    o.insert("$ref".into(), Value::from(format!("#/$defs/{kind}")));
                }
                let v = build(&one, &format!("kind `{kind}`"));
                (kind, v)
            })
            .collect();
        Compiled { whole, per_kind }
    })
}

/// The kinds the schema describes: its `kind` enum.
fn kinds_of(schema: &Value) -> Vec<String> {
    schema["properties"]["kind"]["enum"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Every kind the schema describes.
pub fn kinds() -> Vec<String> {
    compiled().per_kind.keys().cloned().collect()
}

/// The errors of `value` against the schema (empty when it validates): an unknown or missing
/// `kind`, or each failed keyword with the path of the value it is about.
pub fn errors(value: &Value) -> Vec<String> {
    let c = compiled();
    let Some(kind) = value.get("kind").and_then(Value::as_str) else {
        return vec!["no string `kind`".into()];
    };
    let Some(v) = c.per_kind.get(kind) else {
        return vec![format!(
            "kind `{kind}` is not in schema/v6probe.schema.json: describe it there (a new kind \
             is a minor change within a version)"
        )];
    };
    let mut out = Vec::new();
    for e in v.iter_errors(value) {
        describe(&e, &mut out);
    }
    if out.is_empty() && !c.whole.is_valid(value) {
        out.push(format!(
            "valid as a `{kind}` but not under the schema's oneOf (two kinds match?)"
        ));
    }
    out
}

/// One error as `at `/path`: message`. When every alternative of an `anyOf` / `oneOf` failed
/// (a nullable object, a field with two shapes), the alternatives' own errors are given
/// instead, leaving out the plain "is not of type null" of the `null` alternative: they name
/// the field that is wrong rather than repeating the whole value.
fn describe(e: &ValidationError<'_>, out: &mut Vec<String>) {
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } =
        e.kind()
    {
        let inner: Vec<&ValidationError<'_>> = context
            .iter()
            .filter(|alt| {
                !(alt.len() == 1
                    && matches!(alt[0].kind(), ValidationErrorKind::Type { .. })
                    && alt[0].to_string().ends_with("\"null\""))
            })
            .flatten()
            .collect();
        if !inner.is_empty() {
            for i in inner {
                describe(i, out);
            }
            return;
        }
    }
    let mut msg = e.to_string();
    if msg.len() > 300 {
        let mut cut = 300;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push_str("...");
    }
    out.push(format!("at `{}`: {msg}", e.instance_path()));
}

/// Panics, naming the line and every error, unless `value` (parsed from `line`) validates.
#[track_caller]
pub fn check(line: &str, value: &Value) {
    let errors = errors(value);
    if !errors.is_empty() {
        panic!(
            "v6probe printed a line that does not match schema/v6probe.schema.json:\n  {}\nline: {line}",
            errors.join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = r#"{"kind":"prefix","v":1,"prefix":"fd00::/8"}"#;

    fn errs(line: &str) -> Vec<String> {
        errors(&serde_json::from_str(line).unwrap())
    }

    #[test]
    fn the_schema_is_valid_2020_12_and_every_kind_has_a_definition() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        jsonschema::meta::validate(&schema).unwrap();
        let kinds = kinds();
        assert!(kinds.len() >= 26, "{kinds:?}");
        let one_of: Vec<String> = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["$ref"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("#/$defs/")
                    .to_string()
            })
            .collect();
        let mut sorted = one_of.clone();
        sorted.sort();
        assert_eq!(sorted, kinds, "oneOf and the kind enum differ");
        for k in &kinds {
            let def = &schema["$defs"][k];
            assert_eq!(def["properties"]["kind"]["const"], k.as_str());
            assert_eq!(def["properties"]["v"]["const"], 1);
            assert_eq!(def["additionalProperties"], false, "{k} is not closed");
        }
    }

    #[test]
    fn a_valid_line_passes_and_each_kind_of_mistake_fails() {
        assert!(errs(PREFIX).is_empty(), "{:?}", errs(PREFIX));
        for (bad, why) in [
            (r#"{"kind":"nope","v":1}"#, "not in schema"),
            (r#"{"v":1}"#, "no string `kind`"),
            (r#"{"kind":"prefix","v":2,"prefix":"fd00::/8"}"#, "/v"),
            (r#"{"kind":"prefix","v":1,"prefix":"fd00::/8","x":1}"#, "x"),
            (r#"{"kind":"prefix","v":1}"#, "prefix"),
            (
                r#"{"kind":"prefix","v":1,"prefix":"fd00::/129"}"#,
                "/prefix",
            ),
            (
                r#"{"kind":"mtu_alert","v":1,"dest":"d","mtu":1000,"at":"yesterday"}"#,
                "/at",
            ),
            (
                r#"{"kind":"route","v":1,"prefix":"fd00::/64","table":254,"protocol":"kernel","type":"unicast","via":"fd00::zz"}"#,
                "/via",
            ),
            // Inside a nullable object: the error names the field, not the whole value.
            (
                r#"{"kind":"stats","v":1,"records_read":0,"lines":0,"drops":0,"duration_s":0.1,"detect":{"learning":false}}"#,
                "at `/detect`: \"observed\" is a required property",
            ),
            (
                r#"{"kind":"sim_ready","v":1,"interface":"e","neighbors":1,"router":"nope"}"#,
                "at `/router`: \"nope\" is not a \"ipv6\"",
            ),
        ] {
            let e = errs(bad);
            assert!(
                e.iter().any(|m| m.contains(why)),
                "{bad}: expected an error about {why}, got {e:?}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "does not match schema/v6probe.schema.json")]
    fn check_panics_naming_the_line() {
        check("{}", &serde_json::json!({"kind": "prefix", "v": 1}));
    }
}
