//! Declaring an API's operations: each route names its scope on the same
//! line, and the same declaration feeds the OpenAPI document.
//!
//! ```
//! use axum::Json;
//! use portcullis_contract::operations::{doc, ApiRoutes, Verb};
//!
//! async fn list() -> Json<Vec<String>> {
//!     Json(Vec::new())
//! }
//!
//! let api: ApiRoutes<()> = ApiRoutes::new().op(
//!     Verb::Get,
//!     "/things",
//!     "things:read",
//!     doc("List the things", 200),
//!     list,
//! );
//! assert_eq!(api.ops[0].scope, "things:read");
//! ```

use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use portcullis_gate::scope;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// How an operation is described in the OpenAPI document: everything a
/// caller may rely on, and nothing the handler does not keep to.
#[derive(Debug, Clone)]
pub struct Doc {
    pub summary: &'static str,
    pub success: u16,
    /// JSON Schema of the request body, if it takes one.
    pub body: Option<Value>,
    /// JSON Schema of the success answer's body (none for 204).
    pub returns: Option<Value>,
    pub query: Vec<Param>,
    /// Path parameters whose values are checked (others are ids: an
    /// unknown one is 404).
    pub path: Vec<Param>,
    /// When the operation answers 409: a state the request conflicts with.
    pub conflict: Option<&'static str>,
}

/// A query or path parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub schema: Value,
}

pub fn doc(summary: &'static str, success: u16) -> Doc {
    Doc {
        summary,
        success,
        body: None,
        returns: None,
        query: Vec::new(),
        path: Vec::new(),
        conflict: None,
    }
}

impl Doc {
    pub fn body(mut self, schema: Value) -> Self {
        self.body = Some(schema);
        self
    }

    pub fn returns(mut self, schema: Value) -> Self {
        self.returns = Some(schema);
        self
    }

    pub fn query(
        mut self,
        name: &'static str,
        description: &'static str,
        required: bool,
        schema: Value,
    ) -> Self {
        self.query.push(Param {
            name,
            description,
            required,
            schema,
        });
        self
    }

    pub fn path(mut self, name: &'static str, description: &'static str, schema: Value) -> Self {
        self.path.push(Param {
            name,
            description,
            required: true,
            schema,
        });
        self
    }

    pub fn conflict(mut self, when: &'static str) -> Self {
        self.conflict = Some(when);
        self
    }

    /// Whether the handler checks anything of the request beyond the token
    /// and ids (a body, query parameters, checked path parameters): such
    /// operations answer 422 to what their schemas forbid.
    pub fn checks_input(&self) -> bool {
        self.body.is_some() || !self.query.is_empty() || !self.path.is_empty()
    }
}

/// The schema of a request body, derived from the type handlers read it
/// into (`#[derive(JsonSchema)]`, each field's rule from `contract`).
pub fn request_schema<T: schemars::JsonSchema>() -> Value {
    derived::<T>(schemars::generate::SchemaSettings::draft2020_12().for_deserialize())
}

/// The schema of an answer body, derived from the type that is sent:
/// every field it always sends is required (`null` where it may be), and
/// no object holds anything else.
pub fn answer_schema<T: schemars::JsonSchema>() -> Value {
    let mut schema =
        derived::<T>(schemars::generate::SchemaSettings::draft2020_12().for_serialize());
    closed(&mut schema);
    schema
}

/// Every object schema with properties allows no others.
fn closed(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") {
                map.insert("additionalProperties".into(), Value::from(false));
            }
            map.values_mut().for_each(closed);
        }
        Value::Array(items) => items.iter_mut().for_each(closed),
        _ => {}
    }
}

/// Inline, without the meta-schema, titles or Rust's integer formats (JSON
/// Schema's own keywords say all there is).
fn derived<T: schemars::JsonSchema>(mut settings: schemars::generate::SchemaSettings) -> Value {
    settings.meta_schema = None;
    settings.inline_subschemas = true;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    tidy(&mut schema);
    schema
}

fn tidy(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("title");
            map.remove("$schema");
            // Serde's defaults are for absent fields; prose says what they mean.
            map.remove("default");
            if map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("int") || f.starts_with("uint"))
            {
                map.remove("format");
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// An object schema whose every property is required and nothing else is
/// allowed: the shape of every answer body.
pub fn exact(properties: &[(&str, Value)]) -> Value {
    let names: Vec<&str> = properties.iter().map(|(n, _)| *n).collect();
    let props: serde_json::Map<String, Value> = properties
        .iter()
        .map(|(n, s)| ((*n).to_owned(), s.clone()))
        .collect();
    serde_json::json!({ "type": "object", "required": names, "additionalProperties": false, "properties": props })
}

/// A JSON array of `items`.
pub fn list_of(items: Value) -> Value {
    serde_json::json!({ "type": "array", "items": items })
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub verb: Verb,
    pub path: &'static str,
    pub scope: &'static str,
    pub doc: Doc,
}

/// An API's operations: the router of their handlers, each behind its
/// scope, and their declarations for the document. `S` is the handlers'
/// state.
pub struct ApiRoutes<S> {
    pub router: Router<S>,
    pub ops: Vec<Operation>,
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRoutes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> ApiRoutes<S> {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            ops: Vec::new(),
        }
    }

    /// One operation: verb, path, required scope, description, handler.
    pub fn op<H, T>(
        mut self,
        verb: Verb,
        path: &'static str,
        required: &'static str,
        doc: Doc,
        handler: H,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self
            .router
            .route(path, on(verb.filter(), handler.layer(scope(required))));
        self.ops.push(Operation {
            verb,
            path,
            scope: required,
            doc,
        });
        self
    }
}
