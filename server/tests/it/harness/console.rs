//! What a test does through the console and the token endpoint: account
//! owners, projects, clients and their tokens, the management API.

use reqwest::{Client, Response};

use super::*;

/// An account owner's browser session and what the test made with it.
pub struct Owner {
    pub browser: Client,
}

/// A client's id and secret, as shown once in the console.
#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

impl TestServer {
    pub async fn owner(&self, email: &str) -> Owner {
        let browser = self.browser();
        let res = self
            .sign_up_and_log_in(&browser, &format!("Org of {email}"), email)
            .await;
        assert_redirected(&res, "/projects");
        Owner { browser }
    }

    /// A new member of `owner`'s account with `role`: invited, joined as
    /// `email`, then logged in (joining starts no session).
    pub async fn member(&self, owner: &Owner, role: &str, email: &str) -> Client {
        let (status, invite) = self
            .call(&owner.browser, "team_invite", &[("role", role)])
            .await;
        assert_eq!(status, 200, "{invite}");
        let link = invite["link"].as_str().unwrap();
        let token = link.split_once('#').unwrap().1;
        let browser = self.browser();
        let form = [("token", token), ("email", email), ("password", PASSWORD)];
        let (status, body) = self.call(&browser, "join", &form).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(self.log_in(&browser, email, PASSWORD).await.status(), 200);
        browser
    }

    /// `/api/<fn>` with an urlencoded form; status and JSON body.
    pub async fn call(
        &self,
        client: &Client,
        fn_name: &str,
        form: &(impl serde::Serialize + ?Sized),
    ) -> (u16, serde_json::Value) {
        let res = self.post(client, fn_name, form).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn create_project(&self, owner: &Owner, name: &str, api_id: &str) -> String {
        let (status, body) = self
            .call(
                &owner.browser,
                "project_create",
                &[
                    ("name", name),
                    ("description", ""),
                    ("api_id", api_id),
                    ("token_ttl_secs", ""),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_str().unwrap().to_owned()
    }

    pub async fn create_client(&self, owner: &Owner, project_id: &str, scopes: &[&str]) -> Creds {
        let (status, body) = self
            .call(
                &owner.browser,
                "client_create",
                &client_form(project_id, "Primary", scopes),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        Creds {
            id: body["client"]["id"].as_str().unwrap().into(),
            secret: body["client_secret"].as_str().unwrap().into(),
        }
    }

    /// A fresh account with a Partner API project and a client holding `scopes`.
    pub async fn partner_client(&self, email: &str, scopes: &[&str]) -> (Owner, String, Creds) {
        let owner = self.owner(email).await;
        let project = self.create_project(&owner, "Loan intake", "partner").await;
        let creds = self.create_client(&owner, &project, scopes).await;
        (owner, project, creds)
    }

    /// A project of `api_id` in `owner`'s account and a client with `scopes`.
    pub async fn api_client(
        &self,
        owner: &Owner,
        name: &str,
        api_id: &str,
        scopes: &[&str],
    ) -> (String, Creds) {
        let project = self.create_project(owner, name, api_id).await;
        let creds = self.create_client(owner, &project, scopes).await;
        (project, creds)
    }

    /// Sets a project's bucket (requests per second and burst).
    pub async fn set_rate_limit(&self, owner: &Owner, project: &str, per_sec: u32, burst: u32) {
        let (per_sec, burst) = (per_sec.to_string(), burst.to_string());
        let (status, body) = self
            .call(
                &owner.browser,
                "project_rate_limit",
                &[
                    ("id", project),
                    ("rate_per_sec", per_sec.as_str()),
                    ("rate_burst", burst.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Sum of rows in every reference-API table (on their own pool).
    pub async fn api_rows(&self) -> i64 {
        let mut n = 0;
        for t in [
            "partner_applications",
            "partner_payment_links",
            "partner_identity_checks",
            "caas_transactions",
            "caas_splits",
            "caas_categories",
        ] {
            let (rows,): (i64,) = sqlx::query_as(&format!("select count(*) from {t}"))
                .fetch_one(&self.apis_db)
                .await
                .unwrap();
            n += rows;
        }
        n
    }

    /// POST /oauth/token with HTTP Basic and these extra parameters.
    pub async fn token_basic(&self, creds: &Creds, params: &[(&str, &str)]) -> Response {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(params);
        Client::new()
            .post(self.url("/oauth/token"))
            .basic_auth(&creds.id, Some(&creds.secret))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// An access token for `scope`, or a panic.
    pub async fn access_token(&self, creds: &Creds, scope: &str) -> String {
        let res = self.token_basic(creds, &[("scope", scope)]).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// POST to an OAuth endpoint with client_secret_post.
    pub async fn oauth_post(&self, path: &str, creds: &Creds, params: &[(&str, &str)]) -> Response {
        let mut form = vec![
            ("client_id", creds.id.as_str()),
            ("client_secret", creds.secret.as_str()),
        ];
        form.extend_from_slice(params);
        Client::new()
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// The console's client form: scopes as an indexed list.
pub fn client_form(project_id: &str, name: &str, scopes: &[&str]) -> Vec<(String, String)> {
    let mut form = vec![
        ("project_id".to_owned(), project_id.to_owned()),
        ("client_name".to_owned(), name.to_owned()),
    ];
    for (i, s) in scopes.iter().enumerate() {
        form.push((format!("scopes[{i}]"), (*s).to_owned()));
    }
    form
}

/// A JWT's decoded header and claims (no checks: for looking).
pub fn decode_jwt(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let part = |i: usize| {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    (part(0), part(1))
}

/// A management API call (`/manage/v1{path}`) on the server at `base`:
/// status and JSON body (null when there is none).
pub async fn manage_call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = Client::new()
        .request(method, format!("{base}/manage/v1{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}
