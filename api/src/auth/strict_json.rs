//! A request body's JSON read as its schema says: a struct only from a JSON object.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence of the fields in order
//! (`{"audience": [null, 30]}` would read as `{"age_min": null, "age_max": 30}`), which every
//! request schema forbids (they are objects). [`Strict`] wraps the parsed body and hands every
//! nested value on wrapped in turn, so that a struct anywhere in a DTO is read from an object or
//! refused with serde's own words (`invalid type: sequence, expected struct Audience`) at its
//! path. Everything else reads exactly as `serde_json::Value` reads it.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Value};

/// A parsed JSON value read as a request body: structs from objects only.
pub struct Strict(pub Value);

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    iter: <Map<String, Value> as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                // Keys as serde_json reads them (its own key reader, via the value).
                seed.deserialize(Value::String(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(de::Error::custom("a value without its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

fn visit_array<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = Seq(items.into_iter());
    let out = visitor.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    map: Map<String, Value>,
    visitor: V,
) -> Result<V::Value, Error> {
    visitor.visit_map(Entries {
        iter: map.into_iter(),
        value: None,
    })
}

impl<'de> Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(map) => visit_object(map, visitor),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            v => visitor.visit_some(Strict(v)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// The point of this type: an object, and nothing else.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visit_object(map, visitor),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Range {
        min: Option<u8>,
        max: Option<u8>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        range: Option<Range>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Policy,
        Job,
    }

    fn read(v: Value) -> Result<Body, String> {
        serde_path_to_error::deserialize(Strict(v))
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn objects_read_as_serde_json_reads_them() {
        let body = read(
            json!({"name": "a", "range": {"min": 1, "max": null}, "tags": ["x", "y"], "kind": "job"}),
        );
        assert_eq!(
            body,
            Ok(Body {
                name: "a".into(),
                range: Some(Range {
                    min: Some(1),
                    max: None
                }),
                tags: vec!["x".into(), "y".into()],
                kind: Kind::Job,
            })
        );
        assert_eq!(
            read(json!({"name": "a", "range": null, "kind": "policy"})).map(|b| b.range),
            Ok(None)
        );
    }

    #[test]
    fn a_struct_is_never_read_from_an_array() {
        // serde_json's own reader takes the array as the fields in order.
        let plain: Result<Body, _> =
            serde_json::from_value(json!({"name": "a", "range": [1, 2], "kind": "job"}));
        assert!(plain.is_ok());
        assert_eq!(
            read(json!({"name": "a", "range": [1, 2], "kind": "job"})),
            Err("range: invalid type: sequence, expected struct Range".to_owned())
        );
        assert_eq!(
            read(json!(["a", null, [], "job"])),
            Err(".: invalid type: sequence, expected struct Body".to_owned())
        );
        assert_eq!(
            read(json!({"name": "a", "range": "1-2", "kind": "job"})),
            Err("range: invalid type: string \"1-2\", expected struct Range".to_owned())
        );
    }

    /// What serde_json's own value reader says, path and words, for the same input.
    fn plain(v: Value) -> Result<Body, String> {
        serde_path_to_error::deserialize(v).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn errors_inside_name_their_path_as_serde_json_does() {
        for (input, expected) in [
            (
                json!({"name": "a", "range": {"min": 300}, "kind": "job"}),
                "range.min: invalid value: integer `300`, expected u8",
            ),
            (
                json!({"name": "a", "tags": ["x", 5], "kind": "job"}),
                "tags[1]: invalid type: integer `5`, expected a string",
            ),
            (
                json!({"name": "a", "kind": "other"}),
                "kind: unknown variant `other`, expected `policy` or `job`",
            ),
            (
                json!({"name": "a", "kind": "job", "extra": 1}),
                "extra: unknown field `extra`, expected one of `name`, `range`, `tags`, `kind`",
            ),
            (json!({"kind": "job"}), ".: missing field `name`"),
            (
                json!("a"),
                ".: invalid type: string \"a\", expected struct Body",
            ),
        ] {
            assert_eq!(read(input.clone()), Err(expected.to_owned()), "{input}");
            assert_eq!(read(input.clone()), plain(input.clone()), "{input}");
        }
    }
}
