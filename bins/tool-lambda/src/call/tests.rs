use serde_json::{json, Value};

use super::*;

fn p(name: &str, kind: &str, value: &str) -> Parameter {
    Parameter {
        name: name.into(),
        kind: Some(kind.into()),
        value: value.into(),
    }
}

fn base() -> Url {
    Url::parse("https://api.example.com/v1/").unwrap()
}

fn t(raw: &str) -> Template {
    Template::parse(raw).unwrap()
}

fn body_of(request: &ApiRequest) -> Value {
    serde_json::from_slice(request.body.as_deref().expect("a body")).unwrap()
}

#[test]
fn placeholders_fill_the_path_and_the_rest_goes_to_the_query() {
    let params = [
        p("id", "string", "TCK 1/../2"),
        p("q", "string", "a&b=c d"),
        p("limit", "integer", "5"),
    ];
    let r = build(
        &base(),
        Method::GET,
        &t("/tickets/{id}"),
        &params,
        Rest::Query,
        None,
    )
    .unwrap();
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.url.path(), "/v1/tickets/TCK%201%2F..%2F2");
    assert_eq!(r.url.query(), Some("q=a%26b%3Dc+d&limit=5"));
    assert!(r.body.is_none());
}

#[test]
fn post_functions_send_the_rest_as_typed_json() {
    let params = [
        p("id", "string", "7"),
        p("text", "string", "hello"),
        p("n", "integer", "42"),
        p("x", "number", "1.5"),
        p("urgent", "boolean", "true"),
        p("tags", "array", r#"["a","b"]"#),
    ];
    let r = build(
        &base(),
        Method::POST,
        &t("/tickets/{id}/comments"),
        &params,
        Rest::JsonBody,
        None,
    )
    .unwrap();
    assert_eq!(
        r.url.as_str(),
        "https://api.example.com/v1/tickets/7/comments"
    );
    assert_eq!(
        body_of(&r),
        json!({"text": "hello", "n": 42, "x": 1.5, "urgent": true, "tags": ["a", "b"]})
    );
}

#[test]
fn openapi_request_bodies_become_the_json_body() {
    let props = [
        p("title", "string", "Printer"),
        p("priority", "integer", "2"),
    ];
    let r = build(
        &base(),
        Method::POST,
        &t("/tickets"),
        &[p("dryRun", "boolean", "true")],
        Rest::Query,
        Some(&props),
    )
    .unwrap();
    assert_eq!(r.url.query(), Some("dryRun=true"));
    assert_eq!(body_of(&r), json!({"title": "Printer", "priority": 2}));
}

#[test]
fn bad_parameters_are_refused_before_any_request() {
    let get = |params: &[Parameter]| {
        build(
            &base(),
            Method::POST,
            &t("/t/{id}"),
            params,
            Rest::JsonBody,
            None,
        )
        .unwrap_err()
    };
    assert_eq!(get(&[]), BuildError::Fill(FillError::Missing("id".into())));
    assert!(matches!(
        get(&[p("id", "string", "..")]),
        BuildError::Fill(FillError::ChangesPath(_))
    ));
    assert_eq!(
        get(&[p("id", "string", "1"), p("id", "string", "2")]),
        BuildError::Duplicate("id".into())
    );
    assert_eq!(
        get(&[p("id", "string", "1"), p("n", "integer", "1.5")]),
        BuildError::Type("n".into(), "integer")
    );
    assert_eq!(
        get(&[p("id", "string", "1"), p("b", "boolean", "yes")]),
        BuildError::Type("b".into(), "boolean")
    );
    assert_eq!(
        get(&[p("id", "string", "1"), p("a", "array", "{}")]),
        BuildError::Type("a".into(), "JSON array")
    );
    let many: Vec<Parameter> = (0..65)
        .map(|i| p(&format!("p{i}"), "string", "v"))
        .collect();
    assert_eq!(get(&many), BuildError::TooMany);
}

#[test]
fn the_base_path_is_kept_without_doubling_slashes() {
    for base in [
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com/v1",
    ] {
        let r = build(
            &Url::parse(base).unwrap(),
            Method::GET,
            &t("/me"),
            &[],
            Rest::Query,
            None,
        )
        .unwrap();
        assert!(
            r.url.path().ends_with("/me") && !r.url.path().contains("//"),
            "{}",
            r.url
        );
        assert_eq!(r.url.query(), None);
    }
}
