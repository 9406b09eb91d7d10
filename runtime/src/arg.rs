//! Typed argument values, sent as they are: generated builders put each `Args` field
//! into the query or the JSON body through [`ArgValue`], with no JSON round trip.

use serde_json::Value;

/// One argument's value, as generated `Args` fields hold it.
pub trait ArgValue {
    /// Appends `name=value` query pairs: arrays repeat the name, absent values add nothing,
    /// objects go as JSON text.
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>);

    /// The value as JSON (`null` when absent, which [`crate::insert_body`] leaves out).
    fn into_value(self) -> Value;
}

impl ArgValue for String {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        query.push((name.to_owned(), self.clone()));
    }
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl ArgValue for i64 {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        query.push((name.to_owned(), self.to_string()));
    }
    fn into_value(self) -> Value {
        Value::from(self)
    }
}

impl ArgValue for f64 {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        // As JSON writes it (`1.0`, not `1`); a non-finite number is absent.
        if let Some(n) = serde_json::Number::from_f64(*self) {
            query.push((name.to_owned(), n.to_string()));
        }
    }
    fn into_value(self) -> Value {
        serde_json::Number::from_f64(self).map_or(Value::Null, Value::Number)
    }
}

impl ArgValue for bool {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        query.push((name.to_owned(), self.to_string()));
    }
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl ArgValue for Value {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        crate::push_query(query, name, self);
    }
    fn into_value(self) -> Value {
        self
    }
}

impl<T: ArgValue> ArgValue for Vec<T> {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        self.iter().for_each(|v| v.push_query(name, query));
    }
    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(ArgValue::into_value).collect())
    }
}

impl<T: ArgValue> ArgValue for Option<T> {
    fn push_query(&self, name: &str, query: &mut Vec<(String, String)>) {
        if let Some(v) = self {
            v.push_query(name, query);
        }
    }
    fn into_value(self) -> Value {
        self.map_or(Value::Null, ArgValue::into_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed path gives what the JSON path (`to_json` then `push_query`) gave.
    #[test]
    fn same_as_through_json() {
        fn both<T: ArgValue + serde::Serialize + Clone>(v: T) {
            let (mut typed, mut json) = (Vec::new(), Vec::new());
            v.push_query("k", &mut typed);
            crate::push_query(&mut json, "k", &crate::to_json(&v));
            assert_eq!(typed, json);
            assert_eq!(v.clone().into_value(), crate::to_json(&v));
        }
        both("a b".to_owned());
        both(3i64);
        both(1.0f64);
        both(1.5f64);
        both(true);
        both(vec!["x".to_owned(), "y".to_owned()]);
        both(Some(vec![1i64, 2]));
        both(None::<String>);
        both(json!({"a": [1, null]}));
        both(Value::Null);
        let mut q = Vec::new();
        f64::NAN.push_query("k", &mut q);
        assert!(q.is_empty() && f64::NAN.into_value().is_null());
    }
}
