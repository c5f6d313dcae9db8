//! The local server (`chadmin serve`, the `make dev` path) over real HTTP against the
//! emulator: each key form, the 403/404/405 rules, HEAD, and the exact JSON.

use reqwest::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;
use testkit::chadmin::LocalServer;
use testkit::world::World;

const JSON: &str = "application/json; charset=utf-8";
const DOCUMENTED: [&str; 6] = ["id", "name", "url", "state", "errorMessage", "lastChecked"];

/// A world with three connectors added out of id order, a key, and a running server.
async fn given_three_connectors() -> Option<(World, String, LocalServer)> {
    let world = World::init().await?;
    for (id, name, url) in [
        ("3", "nuget.org", "https://api.nuget.org/v3/index.json"),
        ("1", "npmjs.org", "https://registry.npmjs.org"),
        ("2", "pypi.org", "https://pypi.org/simple"),
    ] {
        world
            .run(&[
                "connectors",
                "add",
                "--id",
                id,
                "--name",
                name,
                "--url",
                url,
            ])
            .await
            .ok();
    }
    let key = world.create_key("test", &[]).await;
    let server = world.serve().await;
    Some((world, key, server))
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()[CONTENT_TYPE], JSON);
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn each_key_form_opens_the_list_ordered_by_id_with_exactly_the_documented_members() {
    let Some((_world, key, server)) = given_three_connectors().await else {
        return;
    };
    let forms = [
        server.get("/api/connector-health").header("X-ApiKey", &key),
        server.get(&format!("/api/connector-health?key={key}")),
        server
            .get("/api/connector-health")
            .basic_auth("api", Some(&key)),
        server
            .get(&format!("/api/connector-health?key={key}"))
            .header("X-ApiKey", &key)
            .basic_auth("api", Some(&key)),
    ];
    let expected = concat!(
        r#"[{"id":1,"name":"npmjs.org","url":"https://registry.npmjs.org","state":"unknown","errorMessage":null,"lastChecked":null},"#,
        r#"{"id":2,"name":"pypi.org","url":"https://pypi.org/simple","state":"unknown","errorMessage":null,"lastChecked":null},"#,
        r#"{"id":3,"name":"nuget.org","url":"https://api.nuget.org/v3/index.json","state":"unknown","errorMessage":null,"lastChecked":null}]"#
    );
    for request in forms {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], JSON);
        assert_eq!(response.text().await.unwrap(), expected);
    }
}

/// The member names of each object of a JSON array, in the order they appear in the text
/// (serde_json's `Value` sorts them, so read the text).
fn member_order(array_text: &str) -> Vec<Vec<String>> {
    let inner = array_text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    inner
        .split("},{")
        .map(|object| {
            let value: Value = serde_json::from_str(&format!(
                "{{{}}}",
                object.trim_matches(|c| c == '{' || c == '}')
            ))
            .expect("each object parses alone");
            let mut names: Vec<(usize, String)> = value
                .as_object()
                .unwrap()
                .keys()
                .map(|k| (object.find(&format!("\"{k}\":")).unwrap(), k.clone()))
                .collect();
            names.sort();
            names.into_iter().map(|(_, k)| k).collect()
        })
        .collect()
}

#[tokio::test]
async fn missing_unknown_and_disagreeing_keys_are_403_with_only_missing_or_not_authorized() {
    let Some((_world, key, server)) = given_three_connectors().await else {
        return;
    };
    let (status, body) = json_of(server.get("/api/connector-health").send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (403, serde_json::json!({"message": "API key missing."}))
    );
    let not_authorized = serde_json::json!({"message": "API key not authorized."});
    let refused = [
        server
            .get("/api/connector-health")
            .header("X-ApiKey", "no-such-key"),
        server
            .get("/api/connector-health?key=other")
            .header("X-ApiKey", &key),
        server
            .get("/api/connector-health/1")
            .header("X-ApiKey", &key)
            .basic_auth("api", Some("other")),
        server
            .get("/api/connector-health")
            .basic_auth("admin", Some(&key)),
    ];
    for request in refused {
        let (status, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!((status, &body), (403, &not_authorized));
    }
}

#[tokio::test]
async fn a_single_connector_and_every_kind_of_bad_id_is_404() {
    let Some((_world, key, server)) = given_three_connectors().await else {
        return;
    };
    let (status, body) = json_of(
        server
            .get("/api/connector-health/2")
            .header("X-ApiKey", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"id": 2, "name": "pypi.org", "url": "https://pypi.org/simple",
                           "state": "unknown", "errorMessage": null, "lastChecked": null})
    );
    for id in [
        "4",
        "abc",
        "-1",
        "0",
        "1.5",
        "99999999999999999999",
        "%ZZ",
        "2147483648",
        "%00",
    ] {
        let (status, body) = json_of(
            server
                .get(&format!("/api/connector-health/{id}"))
                .header("X-ApiKey", &key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404, "{id}");
        assert_eq!(
            body,
            serde_json::json!({"message": "Connector not found."}),
            "{id}"
        );
    }
}

#[tokio::test]
async fn head_answers_with_the_get_headers_and_no_body() {
    let Some((_world, key, server)) = given_three_connectors().await else {
        return;
    };
    for path in [
        "/api/connector-health",
        "/api/connector-health/3",
        "/api/connector-health/9",
    ] {
        let get = server
            .get(path)
            .header("X-ApiKey", &key)
            .send()
            .await
            .unwrap();
        let head = server
            .request("HEAD", path)
            .header("X-ApiKey", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        let mut get_headers = get.headers().clone();
        let mut head_headers = head.headers().clone();
        get_headers.remove("date");
        head_headers.remove("date");
        assert_eq!(head_headers, get_headers, "{path}");
        let length: usize = get.headers()[CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(length > 0);
        assert_eq!(get.bytes().await.unwrap().len(), length);
        assert!(head.bytes().await.unwrap().is_empty());
    }
    let head = server
        .request("HEAD", "/api/connector-health")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 403, "HEAD without a key is refused too");
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_are_api_gateway_404() {
    let Some((_world, key, server)) = given_three_connectors().await else {
        return;
    };
    for (method, path) in [
        ("POST", "/api/connector-health"),
        ("PUT", "/api/connector-health/1"),
        ("DELETE", "/api/connector-health/1"),
        ("PATCH", "/api/connector-health"),
        ("OPTIONS", "/api/connector-health"),
    ] {
        let r = server
            .request(method, path)
            .header("X-ApiKey", &key)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
    }
    for path in [
        "/abc",
        "/",
        "/api/connector-health/1/extra",
        "/api/connector-health/",
        "/api",
    ] {
        let r = server
            .get(path)
            .header("X-ApiKey", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.text().await.unwrap(), r#"{"message":"Not Found"}"#);
    }
}

#[tokio::test]
async fn seeded_demo_connectors_show_every_state_and_seeding_twice_adds_nothing() {
    let Some(world) = World::init().await else {
        return;
    };
    world.run(&["seed-demo"]).await.ok();
    world.run(&["seed-demo"]).await.ok();
    let key = world.create_key("demo", &[]).await;
    let server = world.serve().await;
    let response = server
        .get("/api/connector-health")
        .header("X-ApiKey", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let list = body.as_array().unwrap();
    let orders = member_order(&text);
    assert_eq!(orders.len(), list.len());
    for members in &orders {
        assert_eq!(
            members[..6],
            DOCUMENTED,
            "documented members first, in order"
        );
    }
    assert!((6..=8).contains(&list.len()), "{}", list.len());
    let ids: Vec<u64> = list.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=list.len() as u64).collect::<Vec<_>>());
    for c in list {
        match c["state"].as_str().unwrap() {
            "healthy" => {
                assert!(c["errorMessage"].is_null());
                assert!(c["lastChecked"].as_str().unwrap().ends_with('Z'));
                assert_eq!(c["httpStatus"], 200);
                assert!(c["responseTimeMs"].is_u64());
            }
            "error" => {
                assert!(c["errorMessage"].as_str().unwrap().ends_with('.'));
                assert!(c["lastChecked"].is_string());
                assert!(c["consecutiveFailures"].as_u64().unwrap() >= 1);
            }
            "unknown" => {
                assert!(c["errorMessage"].is_null() && c["lastChecked"].is_null());
                assert_eq!(c.as_object().unwrap().len(), 6);
            }
            other => panic!("undocumented state {other}"),
        }
    }
    for state in ["healthy", "error", "unknown"] {
        assert!(list.iter().any(|c| c["state"] == state), "{state}");
    }
    assert!(list
        .iter()
        .any(|c| c["errorMessage"] == "Connection timed out after 10 s."));
}

#[tokio::test]
async fn keys_impersonating_a_user_need_feeds_manage() {
    let Some(world) = World::init().await else {
        return;
    };
    let manage = world
        .create_key(
            "ops",
            &["--impersonate", "admin", "--privilege", "Feeds_Manage"],
        )
        .await;
    let view = world
        .create_key(
            "viewer",
            &["--impersonate", "dev", "--privilege", "Feeds_View"],
        )
        .await;
    let server = world.serve().await;
    let status = |key: String| {
        let request = server.get("/api/connector-health").header("X-ApiKey", key);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(manage).await, 200);
    assert_eq!(status(view).await, 403);
}
