//! Setting up what the benchmark needs, the way a person would: sign up,
//! create a project and a client through the console's server functions.

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Clone)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

impl Creds {
    pub fn basic(&self) -> String {
        let raw = format!("{}:{}", self.id, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// A browser's session with the console of the server at `addr`.
pub struct Console {
    addr: String,
    /// The public URL's origin, as a browser sends it.
    origin: String,
    cookie: Option<String>,
}

impl Console {
    pub fn new(addr: &str, origin: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            origin: origin.to_owned(),
            cookie: None,
        }
    }

    /// Signs up a new account and creates a Partner API project with a
    /// bucket big enough not to be what is measured.
    pub async fn sign_up_with_project(&mut self) -> Result<String, String> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let credentials = format!(
            "email=bench{stamp}%40example.com&password={}",
            enc("correct horse battery staple")
        );
        self.post("/api/signup", &format!("account_name=Bench&{credentials}"))
            .await?;
        // Sign-up starts no session; log in as a person would.
        self.post("/api/login", &credentials).await?;
        let project = self
            .post(
                "/api/project_create",
                "name=Bench&description=&api_id=partner&token_ttl_secs=",
            )
            .await?;
        let project = project
            .as_str()
            .ok_or("project_create returned no id")?
            .to_owned();
        // The default bucket (25/s) would measure the limit, not the server.
        self.post(
            "/api/project_rate_limit",
            &format!("id={}&rate_per_sec=100000&rate_burst=100000", enc(&project)),
        )
        .await?;
        Ok(project)
    }

    /// A new client of `project` with `scopes` (space-separated).
    pub async fn client(&mut self, project: &str, scopes: &str) -> Result<Creds, String> {
        let mut form = format!("project_id={}&client_name=Bench", enc(project));
        for (i, s) in scopes.split(' ').enumerate() {
            form.push_str(&format!("&scopes%5B{i}%5D={}", enc(s)));
        }
        let client = self.post("/api/client_create", &form).await?;
        Ok(Creds {
            id: client["client"]["id"]
                .as_str()
                .ok_or("client_create returned no id")?
                .to_owned(),
            secret: client["client_secret"]
                .as_str()
                .ok_or("client_create returned no secret")?
                .to_owned(),
        })
    }

    /// A new `private_key_jwt` client of `project` with this public JWK.
    pub async fn key_client(
        &mut self,
        project: &str,
        scope: &str,
        jwk: &str,
    ) -> Result<String, String> {
        let form = format!(
            "project_id={}&client_name=Bench+keys&scopes%5B0%5D={}&public_keys={}",
            enc(project),
            enc(scope),
            enc(jwk)
        );
        let client = self.post("/api/client_create", &form).await?;
        client["client"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "client_create returned no id".into())
    }

    pub async fn post(&mut self, path: &str, form: &str) -> Result<serde_json::Value, String> {
        let mut req = Request::post(path)
            .header("host", &self.addr)
            .header("origin", &self.origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let req = req
            .body(Full::new(Bytes::from(form.to_owned())))
            .map_err(|e| e.to_string())?;
        let (status, headers, body) = request(&self.addr, req).await?;
        if let Some(c) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = c.split(';').next().map(str::to_owned);
        }
        if !status.is_success() {
            return Err(format!(
                "{path}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }
}

/// Polls `/healthz` until the server answers.
pub async fn wait_ready(addr: &str, limit: std::time::Duration) -> Result<(), String> {
    let until = std::time::Instant::now() + limit;
    loop {
        let req = Request::get("/healthz")
            .header("host", addr)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        if request(addr, req)
            .await
            .is_ok_and(|(status, ..)| status.is_success())
        {
            return Ok(());
        }
        if std::time::Instant::now() > until {
            return Err(format!("the server at {addr} did not become ready"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A form value, percent-encoded as `application/x-www-form-urlencoded`.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A new account with a Partner API project and a client holding `scopes`.
pub async fn provision(addr: &str, scopes: &str) -> Result<Creds, String> {
    let mut console = Console::new(addr, &format!("http://{addr}"));
    let project = console.sign_up_with_project().await?;
    console.client(&project, scopes).await
}

/// `req` on a fresh connection; the answer as it arrives.
async fn send<B>(
    addr: &str,
    req: Request<B>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    send.send_request(req).await.map_err(|e| e.to_string())
}

/// One request on a fresh connection: status, headers and the whole body.
pub async fn request(
    addr: &str,
    req: Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, hyper::HeaderMap, Bytes), String> {
    let res = send(addr, req).await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, headers, body))
}

/// One request on a fresh connection, answered 200: the body as it
/// arrives (an event stream).
pub async fn stream(
    addr: &str,
    req: Request<http_body_util::Empty<Bytes>>,
) -> Result<hyper::body::Incoming, String> {
    let res = send(addr, req).await?;
    if res.status() != hyper::StatusCode::OK {
        return Err(format!("{} answered {}", addr, res.status()));
    }
    Ok(res.into_body())
}

/// GET `path` as text.
pub async fn get_text(addr: &str, path: &str) -> Result<String, String> {
    let req = Request::get(path)
        .header("host", addr)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (status, _, body) = request(addr, req).await?;
    if !status.is_success() {
        return Err(format!("{path}: {status}"));
    }
    String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
}

/// GET `path` as JSON.
pub async fn get_json(addr: &str, path: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&get_text(addr, path).await?).map_err(|e| e.to_string())
}

pub async fn access_token(addr: &str, creds: &Creds, scope: &str) -> Result<String, String> {
    let req = Request::post("/oauth/token")
        .header("host", addr)
        .header("authorization", creds.basic())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!(
            "grant_type=client_credentials&scope={}",
            enc(scope)
        ))))
        .map_err(|e| e.to_string())?;
    let (status, _, body) = request(addr, req).await?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match json["access_token"].as_str() {
        Some(t) if status.is_success() => Ok(t.to_owned()),
        _ => Err(format!("/oauth/token: {status} {json}")),
    }
}

/// RFC 7009: `creds` revokes its own `token`.
pub async fn revoke(addr: &str, creds: &Creds, token: &str) -> Result<(), String> {
    let req = Request::post("/oauth/revoke")
        .header("host", addr)
        .header("authorization", creds.basic())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!("token={token}"))))
        .map_err(|e| e.to_string())?;
    let (status, ..) = request(addr, req).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("/oauth/revoke: {status}"))
    }
}

/// One application to read back in the read benchmarks.
pub async fn create_application(addr: &str, token: &str) -> Result<String, String> {
    let req = Request::post("/partner/v1/applications")
        .header("host", addr)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            br#"{"applicant_name":"Bench","amount_cents":100000,"term_months":12,"annual_income_cents":5000000}"#,
        )))
        .map_err(|e| e.to_string())?;
    let (status, _, body) = request(addr, req).await?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match json["id"].as_str() {
        Some(id) if status.is_success() => Ok(id.to_owned()),
        _ => Err(format!("create application: {status} {json}")),
    }
}
