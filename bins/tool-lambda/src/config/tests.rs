use std::collections::HashMap;

use super::*;

const FUNCTIONS: &str = r#"{"getTicket": {"method": "GET", "path": "/tickets/{id}"},
                           "addComment": {"method": "post", "path": "/tickets/{id}/comments"}}"#;

fn env(overrides: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("TOOL_ISSUER", "https://example.okta.com/oauth2/aus123"),
        ("TOOL_API_BASE_URL", "https://api.example.com/v1/"),
        ("TOOL_ALLOWED_CLIENTS", "wlpagent1  wlpagent2"),
        ("TOOL_REQUIRED_SCOPES", "tickets:read"),
        ("TOOL_FUNCTIONS", FUNCTIONS),
    ]);
    for (k, v) in overrides {
        vars.insert(k, v);
    }
    Config::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
}

fn var_of(overrides: &[(&str, &str)]) -> &'static str {
    env(overrides).expect_err("must be refused").var
}

#[test]
fn defaults_and_lists_are_read() {
    let c = env(&[]).unwrap();
    assert_eq!(c.issuer, "https://example.okta.com/oauth2/aus123");
    assert_eq!(c.audience, "api://default");
    assert_eq!(c.allowed_clients, ["wlpagent1", "wlpagent2"]);
    assert_eq!(c.required_scopes, ["tickets:read"]);
    assert_eq!(c.subjects, Subjects::Xaa);
    assert_eq!(c.leeway, std::time::Duration::from_secs(60));
    assert_eq!(c.token_attribute, "oktaAccessToken");
    assert_eq!(c.functions["addComment"].method, Method::POST);
    assert!(c.openapi_paths.is_none());
    assert!(!c.issuer_uses_plain_http() && !c.api_uses_plain_http());
    let c = env(&[
        ("TOOL_SUBJECTS", "agbac"),
        ("TOOL_AUDIENCE", "api://tickets"),
        ("TOOL_TOKEN_ATTRIBUTE", "token"),
        ("TOOL_LEEWAY_SECS", "0"),
        (
            "TOOL_OPENAPI_PATHS",
            r#"["GET /tickets/{id}", "post /tickets"]"#,
        ),
    ])
    .unwrap();
    assert_eq!(c.subjects, Subjects::Agbac);
    assert_eq!(c.audience, "api://tickets");
    assert_eq!(c.token_attribute, "token");
    assert_eq!(c.leeway, std::time::Duration::ZERO);
    assert_eq!(c.openapi_paths.unwrap()[1].method, Method::POST);
}

#[test]
fn loopback_may_use_plain_http_and_nothing_else_may() {
    let c = env(&[
        ("TOOL_ISSUER", "http://127.0.0.1:9000/oauth2/aus1"),
        ("TOOL_API_BASE_URL", "http://localhost:8080"),
    ])
    .unwrap();
    assert!(c.issuer_uses_plain_http() && c.api_uses_plain_http());
    assert_eq!(
        var_of(&[("TOOL_ISSUER", "http://example.okta.com/oauth2/a")]),
        "TOOL_ISSUER"
    );
    assert_eq!(
        var_of(&[("TOOL_API_BASE_URL", "http://api.example.com")]),
        "TOOL_API_BASE_URL"
    );
    let e = env(&[("TOOL_API_BASE_URL", "http://10.0.0.1")]).unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
}

#[test]
fn every_mistake_names_its_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("TOOL_ISSUER", "")], "TOOL_ISSUER"),
        (&[("TOOL_ISSUER", "not a url")], "TOOL_ISSUER"),
        (&[("TOOL_ISSUER", "ftp://example.com")], "TOOL_ISSUER"),
        (
            &[("TOOL_ISSUER", "https://u:p@example.com/oauth2/a")],
            "TOOL_ISSUER",
        ),
        (&[("TOOL_API_BASE_URL", " ")], "TOOL_API_BASE_URL"),
        (
            &[("TOOL_API_BASE_URL", "https://api.example.com/?x=1")],
            "TOOL_API_BASE_URL",
        ),
        (&[("TOOL_ALLOWED_CLIENTS", "")], "TOOL_ALLOWED_CLIENTS"),
        (&[("TOOL_REQUIRED_SCOPES", "  ")], "TOOL_REQUIRED_SCOPES"),
        (&[("TOOL_SUBJECTS", "both")], "TOOL_SUBJECTS"),
        (&[("TOOL_LEEWAY_SECS", "121")], "TOOL_LEEWAY_SECS"),
        (&[("TOOL_LEEWAY_SECS", "-1")], "TOOL_LEEWAY_SECS"),
        (&[("TOOL_LEEWAY_SECS", "1e3")], "TOOL_LEEWAY_SECS"),
        (
            &[("TOOL_LEEWAY_SECS", "18446744073709551616")],
            "TOOL_LEEWAY_SECS",
        ),
        (&[("TOOL_FUNCTIONS", "[]")], "TOOL_FUNCTIONS"),
        (
            &[(
                "TOOL_FUNCTIONS",
                r#"{"f": {"method": "TRACE", "path": "/x"}}"#,
            )],
            "TOOL_FUNCTIONS",
        ),
        (
            &[(
                "TOOL_FUNCTIONS",
                r#"{"f": {"method": "GET", "path": "/a/../b"}}"#,
            )],
            "TOOL_FUNCTIONS",
        ),
        (
            &[("TOOL_FUNCTIONS", r#"{"f": {"method": "GET", "path": "x"}}"#)],
            "TOOL_FUNCTIONS",
        ),
        (
            &[("TOOL_FUNCTIONS", r#"{"f": {"method": "GET"}}"#)],
            "TOOL_FUNCTIONS",
        ),
        (
            &[(
                "TOOL_FUNCTIONS",
                r#"{"f": {"method": "GET", "path": "/", "x": 1}}"#,
            )],
            "TOOL_FUNCTIONS",
        ),
        (
            &[("TOOL_OPENAPI_PATHS", r#"["GET"]"#)],
            "TOOL_OPENAPI_PATHS",
        ),
        (
            &[("TOOL_OPENAPI_PATHS", r#"{"GET": "/x"}"#)],
            "TOOL_OPENAPI_PATHS",
        ),
    ];
    for (overrides, var) in cases {
        assert_eq!(var_of(overrides), *var, "{overrides:?}");
    }
}

#[test]
fn a_refused_value_is_never_quoted() {
    let secret = "eyJhbGciOiJSUzI1NiJ9.secret-value";
    for var in [
        "TOOL_ISSUER",
        "TOOL_API_BASE_URL",
        "TOOL_FUNCTIONS",
        "TOOL_SUBJECTS",
        "TOOL_OPENAPI_PATHS",
    ] {
        let e = env(&[(var, secret)]).unwrap_err();
        assert_eq!(e.var, var);
        assert!(!e.to_string().contains("secret-value"), "{e}");
    }
}
