//! `--decode text|hex|var` and `--send-as text|var`: how a packet's payload is shown, and how
//! a stdin line becomes a payload.

use godot_variant::{DecodeError, Variant};
use serde_json::{json, Map, Value};

use crate::var_json;

/// `--decode`: how received payloads are printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Decode {
    /// As UTF-8 text (invalid bytes replaced); today's behaviour.
    #[default]
    Text,
    /// As lowercase hex.
    Hex,
    /// As one Godot Variant (`put_var`'s encoding): its `var_to_str` form in text mode, a
    /// `"var"` field in JSON mode (see `--help` for the mapping), `var_error` if it does not
    /// decode.
    Var,
}

/// `--send-as`: how stdin lines become payloads.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SendAs {
    /// The line's bytes as they are.
    #[default]
    Text,
    /// The line parsed as JSON, mapped to a Variant (see `--help`), sent encoded as `put_var`
    /// does.
    Var,
}

/// A payload rendered for printing.
pub enum View {
    /// Text (lossy UTF-8).
    Text(String),
    /// Lowercase hex.
    Hex(String),
    /// A decoded Variant.
    Var(Variant),
    /// Bytes that are not a Variant.
    VarError(DecodeError),
}

/// Lowercase hex of `data`.
pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl View {
    /// Renders `data` as `mode` asks. Variants decode with objects refused, as `get_var` does
    /// by default; bytes after the Variant are ignored, as Godot does.
    pub fn of(mode: Decode, data: &[u8]) -> View {
        match mode {
            Decode::Text => View::Text(String::from_utf8_lossy(data).into_owned()),
            Decode::Hex => View::Hex(hex(data)),
            Decode::Var => match godot_variant::decode(data) {
                Ok((v, _)) => View::Var(v),
                Err(e) => View::VarError(e),
            },
        }
    }

    /// The text form: the text, the hex, the Variant's `var_to_str` form, or
    /// `var_error: MESSAGE (Godot error CODE)`.
    pub fn text(&self) -> String {
        match self {
            View::Text(s) | View::Hex(s) => s.clone(),
            View::Var(v) => v.to_string(),
            View::VarError(e) => format!("var_error: {e} (Godot error {})", e.godot_code()),
        }
    }

    /// The JSON field: `"text"`, `"hex"`, `"var"` (the mapping of `var_json`) or
    /// `"var_error"` (`{"message": ..., "code": ...}`).
    pub fn json_field(&self) -> (&'static str, Value) {
        match self {
            View::Text(s) => ("text", json!(s)),
            View::Hex(s) => ("hex", json!(s)),
            View::Var(v) => ("var", var_json::to_json(v)),
            View::VarError(e) => (
                "var_error",
                json!({"message": e.to_string(), "code": e.godot_code()}),
            ),
        }
    }

    /// Adds [`json_field`](Self::json_field) to a JSON object.
    pub fn add_to(&self, obj: &mut Value) {
        if let Value::Object(m) = obj {
            let (k, v) = self.json_field();
            m.insert(k.to_string(), v);
        } else {
            let mut m = Map::new();
            let (k, v) = self.json_field();
            m.insert(k.to_string(), v);
            *obj = Value::Object(m);
        }
    }
}

/// The payload for one stdin line: its bytes, or (`var`) the encoding of the Variant its JSON
/// maps to. `Err` is a message for stderr.
pub fn line_payload(mode: SendAs, line: &str) -> Result<Vec<u8>, String> {
    match mode {
        SendAs::Text => Ok(line.as_bytes().to_vec()),
        SendAs::Var => {
            let v = var_json::parse_line(line).map_err(|e| format!("--send-as var: {e}"))?;
            godot_variant::to_bytes(&v).map_err(|e| format!("--send-as var: cannot encode: {e}"))
        }
    }
}
