use serde_json::{json, Value};

use super::*;

fn function_event() -> Value {
    json!({
        "messageVersion": "1.0",
        "agent": {"name": "a", "id": "AGENT1", "alias": "TSTALIASID", "version": "DRAFT"},
        "inputText": "the prompt", "sessionId": "s-1", "actionGroup": "tickets",
        "function": "getTicket",
        "parameters": [{"name": "id", "type": "string", "value": "TCK-1001"}],
        "sessionAttributes": {"oktaAccessToken": "t"},
        "promptSessionAttributes": {}
    })
}

fn parse(v: &Value) -> Result<Event, EventError> {
    Event::parse(v.to_string().as_bytes())
}

#[test]
fn both_shapes_parse_and_name_their_action() {
    let e = parse(&function_event()).unwrap();
    assert_eq!(e.action(), Ok(Action::Function("getTicket")));
    assert_eq!(e.agent.unwrap().id.as_deref(), Some("AGENT1"));
    assert_eq!(e.parameters[0].value, "TCK-1001");
    let mut v = function_event();
    let m = v.as_object_mut().unwrap();
    m.remove("function");
    m.insert("apiPath".into(), json!("/tickets/{id}"));
    m.insert("httpMethod".into(), json!("POST"));
    m.insert(
        "requestBody".into(),
        json!({"content": {"application/json": {"properties": [{"name": "n", "type": "integer", "value": "3"}]}}}),
    );
    m.insert("newMemberBedrockMayAdd".into(), json!({"x": [1]}));
    let e = parse(&v).unwrap();
    assert_eq!(
        e.action(),
        Ok(Action::OpenApi {
            method: "POST",
            path: "/tickets/{id}"
        })
    );
    assert_eq!(e.body_properties().unwrap().unwrap()[0].name, "n");
}

#[test]
fn absent_or_null_lists_and_maps_are_empty() {
    let e = parse(&json!({"actionGroup": "g", "function": "f"})).unwrap();
    assert!(e.parameters.is_empty() && e.session_attributes.is_empty());
    let e = parse(
        &json!({"actionGroup": "g", "function": "f", "parameters": null,
        "sessionAttributes": null, "promptSessionAttributes": null, "inputText": null}),
    )
    .unwrap();
    assert!(e.parameters.is_empty() && e.prompt_session_attributes.is_empty());
    assert_eq!(e.body_properties(), Ok(None));
}

#[test]
fn wrong_types_name_the_field_and_quote_no_value() {
    let secret = "eyJsecret-token-value";
    let cases = [
        ("parameters", json!([{"name": "id", "value": 7}])),
        ("parameters", json!(secret)),
        ("sessionAttributes", json!({"oktaAccessToken": 12})),
        ("sessionAttributes", json!(secret)),
        ("inputText", json!({"x": secret})),
        ("function", json!(5)),
        ("actionGroup", json!(null)),
        ("agent", json!({"id": 5})),
        (
            "requestBody",
            json!({"content": {"application/json": {"properties": [{"name": "a", "value": true}]}}}),
        ),
    ];
    for (field, value) in cases {
        let mut v = function_event();
        v[field] = value;
        let e = parse(&v).unwrap_err();
        assert!(
            matches!(e, EventError::Field(f, _) if f == field),
            "{field}: {e:?}"
        );
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}

#[test]
fn events_that_are_not_action_group_events_are_refused() {
    assert!(
        matches!(Event::parse(b"{\"prompt\": \"eyJsecret"), Err(EventError::NotJson(m)) if !m.contains("secret"))
    );
    assert_eq!(Event::parse(b"[1]").unwrap_err(), EventError::NotObject);
    assert_eq!(
        parse(&json!({"prompt": "hi", "id_token": "x"})).unwrap_err(),
        EventError::Field("actionGroup", "a string")
    );
    for v in [
        json!({"actionGroup": "g"}),
        json!({"actionGroup": "g", "function": "f", "apiPath": "/x", "httpMethod": "GET"}),
        json!({"actionGroup": "g", "apiPath": "/x"}),
        json!({"actionGroup": "g", "function": ""}),
    ] {
        assert_eq!(
            parse(&v).unwrap().action(),
            Err(EventError::NoAction),
            "{v}"
        );
    }
    let e = parse(
        &json!({"actionGroup": "g", "apiPath": "/x", "httpMethod": "POST",
        "requestBody": {"content": {"text/plain": {"properties": []}}}}),
    )
    .unwrap();
    assert_eq!(e.body_properties(), Err(EventError::BodyType));
}

#[test]
fn responses_have_bedrocks_shape() {
    let r = Response {
        message_version: "1.0",
        response: ActionResponse::Function {
            action_group: "g".into(),
            function: "f".into(),
            function_response: FunctionResult {
                response_state: Some(ResponseState::Failure),
                response_body: TextBody {
                    text: Body { body: "no".into() },
                },
            },
        },
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"messageVersion": "1.0", "response": {"actionGroup": "g", "function": "f",
            "functionResponse": {"responseState": "FAILURE", "responseBody": {"TEXT": {"body": "no"}}}}})
    );
    let r = Response {
        message_version: "1.0",
        response: ActionResponse::OpenApi {
            action_group: "g".into(),
            api_path: "/x/{id}".into(),
            http_method: "GET".into(),
            http_status_code: 404,
            response_body: JsonBody {
                json: Body { body: "{}".into() },
            },
        },
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"messageVersion": "1.0", "response": {"actionGroup": "g", "apiPath": "/x/{id}",
            "httpMethod": "GET", "httpStatusCode": 404,
            "responseBody": {"application/json": {"body": "{}"}}}})
    );
}
