//! Declaring an API's operations: each route names its scope on the same
//! line, and the same declaration feeds the OpenAPI document.

use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use portcullis_gate::scope;
use serde_json::Value;

use crate::ApiState;

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

/// How an operation is described in the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Doc {
    pub summary: &'static str,
    pub success: u16,
    /// JSON Schema of the request body, if it takes one.
    pub body: Option<Value>,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
}

pub const fn doc(summary: &'static str, success: u16) -> Doc {
    Doc {
        summary,
        success,
        body: None,
        query: &[],
    }
}

impl Doc {
    pub fn body(mut self, schema: Value) -> Self {
        self.body = Some(schema);
        self
    }

    pub fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Self {
        self.query = query;
        self
    }
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub verb: Verb,
    pub path: &'static str,
    pub scope: &'static str,
    pub doc: Doc,
}

pub struct ApiRoutes {
    pub router: Router<ApiState>,
    pub ops: Vec<Operation>,
}

impl Default for ApiRoutes {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiRoutes {
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
        H: Handler<T, ApiState>,
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
