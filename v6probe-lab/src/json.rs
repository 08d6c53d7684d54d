//! The one way tests read what v6probe prints: JSON lines.
//!
//! Every test that parses v6probe's output goes through [`json_line`] (directly, or through
//! [`json_lines`], [`stdout_json`] or [`run_json`]), so the checks every line must pass are
//! written once, here: it is one JSON object, and it validates against the published schema,
//! `schema/v6probe.schema.json` ([`crate::schema`]).
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// One line v6probe printed, parsed: panics, naming the line, unless it is one JSON object
/// that validates against `schema/v6probe.schema.json` (a kind the schema lacks fails too).
#[track_caller]
pub fn json_line(line: &str) -> Value {
    let v: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("v6probe printed a line that is not JSON ({e}): {line:?}"));
    assert!(
        v.is_object(),
        "v6probe printed a JSON line that is not an object: {line:?}"
    );
    crate::schema::check(line, &v);
    v
}

/// Every line of `text` (v6probe's stdout) through [`json_line`].
#[track_caller]
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(json_line).collect()
}

/// The stdout of a finished v6probe run through [`json_lines`]; panics if it is not UTF-8.
#[track_caller]
pub fn stdout_json(out: &Output) -> Vec<Value> {
    let text = std::str::from_utf8(&out.stdout)
        .unwrap_or_else(|e| panic!("v6probe's stdout is not UTF-8: {e}"));
    json_lines(text)
}

/// Runs the built v6probe to completion with stdin closed, and returns its output and the JSON
/// lines of its stdout. `cmd` is `Command::new(env!("CARGO_BIN_EXE_v6probe"))` or a namespace's
/// `command(BIN)`, with its arguments. Panics if it cannot be started.
#[track_caller]
pub fn run_json(cmd: &mut Command) -> (Output, Vec<Value>) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let lines = stdout_json(&out);
    (out, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_objects() {
        let v = json_lines(concat!(
            r#"{"kind":"prefix","v":1,"prefix":"fd00::/8"}"#,
            "\n",
            r#"{"kind":"ula_aggregate","v":1,"prefixes":[]}"#,
            "\n"
        ));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1]["kind"], "ula_aggregate");
        assert!(json_lines("").is_empty());
    }

    #[test]
    #[should_panic(expected = "not JSON")]
    fn text_is_refused() {
        json_lines("{\"kind\":\"prefix\",\"v\":1,\"prefix\":\"fd00::/8\"}\nfd00::1 alive\n");
    }

    #[test]
    #[should_panic(expected = "not an object")]
    fn a_bare_value_is_refused() {
        json_line("[1,2]");
    }

    #[test]
    #[should_panic(expected = "does not match schema/v6probe.schema.json")]
    fn a_line_outside_the_schema_is_refused() {
        json_line(r#"{"kind":"prefix","v":1,"prefix":"fd00::/8","undocumented":true}"#);
    }
}
