//! Why the server could not start. Printed once, then the process exits.

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Core(#[from] portcullis_core::Error),
    #[error(transparent)]
    Catalogue(#[from] portcullis_core::catalogue::CatalogueError),
    #[error(
        "the reference APIs' database (PORTCULLIS_APIS_DATABASE_URL, or DATABASE_URL \
         when unset) at {url}: {source}"
    )]
    ApisDatabase {
        /// Without its password.
        url: String,
        source: portcullis_reference_apis::db::ConnectError,
    },
    #[error("the reference APIs' migrations (PORTCULLIS_APIS_DATABASE_URL, or DATABASE_URL when unset): {0}")]
    ReferenceApis(sqlx::migrate::MigrateError),
    #[error("session store: {0}")]
    Sessions(#[from] sqlx::Error),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}
