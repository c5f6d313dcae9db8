//! Least privilege, checked on the template CloudFormation will actually receive: the SAM
//! template expanded to plain CloudFormation by `infra/sam/expand.py` (`make validate-template`
//! writes `target/template.expanded.json`; `make test` does that before `cargo test`). Where it
//! has not been made (plain `cargo test`), the first test says so in one line and returns,
//! like the tests that need the emulators.
//!
//! The rules:
//! - no action with a wildcard (`*`, `dynamodb:*`, `dynamodb:Get*`), no `NotAction`/`NotResource`;
//! - every resource is scoped: no `*` in any resource ARN, whether literal or inside `Fn::Sub`,
//!   but for one: the connectors' credential secrets, exactly
//!   `arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:connector-health/${<table>}/connector/*`
//!   (a name prefix with the one trailing wildcard Secrets Manager's ARN suffix needs), and
//!   only for `secretsmanager:GetSecretValue`;
//! - the connectors' credential secrets: the scheduled function and every queue worker may
//!   read them (`GetSecretValue` on that prefix; each must, to probe private feeds) and no
//!   other function may (the API functions and the status page read only the key secret);
//! - the functions the HTTP API invokes read the table with `GetItem` and `Scan` only, read the
//!   one key secret, and have no write action of any service;
//! - the function the schedule invokes has `Scan`, `GetItem`, `UpdateItem` on the table and
//!   `events:PutEvents` on the default bus, and nothing else but `GetSecretValue` on the one
//!   extra CA secret of the `ProbeExtraCaSecretArn` parameter, granted only under the
//!   condition that the parameter is set (its default is empty, its pattern one full ARN);
//! - the scheduled function may also send to the probe queue (`sqs:SendMessage` on the queue
//!   an event source mapping feeds to a worker) and nothing else of SQS;
//! - a queue worker (the function of an SQS event source mapping) has `UpdateItem` on the
//!   table (claims and results), `ReceiveMessage`, `DeleteMessage` and `GetQueueAttributes`
//!   on its own queue only, the same events and extra CA grants as the scheduled function, and
//!   nothing else; it is invoked by nothing else;
//! - the history table (the table named [`HISTORY_TABLE`], when there is one): the probe
//!   functions and the workers may only `UpdateItem` it (each needs that, to record checks),
//!   the API functions may only `Query` it (at least one does, to serve history); nothing
//!   else touches it;
//! - the status page is one function of its own behind `/status` and `/status/{id}` with
//!   exactly the read functions' grants, public only through `StatusPagePublic` (default
//!   `false`);
//! - the only managed policy is `AWSLambdaBasicExecutionRole`, which SAM attaches to every
//!   function role (CloudWatch Logs `CreateLogGroup`/`CreateLogStream`/`PutLogEvents`; its
//!   resource is `*` inside that AWS policy, the one documented exception).
//!
//! The first test checks the real expanded template; the others feed the same checks broken
//! templates and require them to be refused, so the checks can fail.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The one wildcard resource allowed: the name prefix of the connectors' credential secrets,
/// for the connector table `table` (its logical id).
fn credentials_arn(table: &str) -> String {
    format!(
        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:connector-health/${{{table}}}/connector/*"
    )
}

const READ_SECRET: &str = "secretsmanager:GetSecretValue";

/// The logical id of the history table.
const HISTORY_TABLE: &str = "HistoryTable";

const BASIC_EXECUTION_ROLE: &str = ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// The parameter naming the probe's extra CA secret, and the pattern it must have: empty, or
/// one full secret ARN (its character classes admit no `*` or `?`).
const EXTRA_CA_PARAMETER: &str = "ProbeExtraCaSecretArn";
const EXTRA_CA_PATTERN: &str =
    "^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+)?$";

fn expanded_template_path() -> PathBuf {
    match std::env::var_os("EXPANDED_TEMPLATE") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/template.expanded.json")
        }
    }
}

/// One `Allow` statement of a role, flattened.
#[derive(Debug, Clone)]
struct Grant {
    role: String,
    actions: Vec<String>,
    /// Resources resolved to strings: `<Logical.Arn>` for `Fn::GetAtt`, `<Logical>` for `Ref`,
    /// `Fn::Sub` templates with their local variables substituted.
    resources: Vec<String>,
    /// The condition of the resource that grants it, if any.
    condition: Option<String>,
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

/// A resource value as a comparable string; unknown shapes become `?` + JSON (never matches a
/// rule that expects a scoped resource, so they are reported).
fn resolve(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.len() == 1 => {
            let (k, arg) = o.iter().next().expect("one entry");
            match (k.as_str(), arg) {
                ("Ref", Value::String(name)) => format!("<{name}>"),
                ("Fn::GetAtt", Value::Array(parts)) => format!(
                    "<{}>",
                    parts
                        .iter()
                        .map(|p| p.as_str().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(".")
                ),
                ("Fn::GetAtt", Value::String(s)) => format!("<{s}>"),
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Sub", Value::Array(parts)) if parts.len() == 2 => {
                    let mut s = parts[0].as_str().unwrap_or("?").to_owned();
                    if let Some(vars) = parts[1].as_object() {
                        for (name, value) in vars {
                            s = s.replace(&format!("${{{name}}}"), &resolve(value));
                        }
                    }
                    s
                }
                _ => format!("?{v}"),
            }
        }
        other => format!("?{other}"),
    }
}

/// Every `Allow` statement of every role and policy resource, plus the problems found on the
/// way (`Deny` is fine; `NotAction`, `NotResource`, unknown managed policies are not).
fn grants(template: &Value) -> (Vec<Grant>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, resource) in &resources {
        let props = &resource["Properties"];
        let documents: Vec<&Value> = match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => {
                for arn in as_list(&props["ManagedPolicyArns"]) {
                    let arn = resolve(arn);
                    if !arn.ends_with(BASIC_EXECUTION_ROLE) {
                        problems.push(format!("{name}: managed policy {arn} is not allowed"));
                    }
                }
                as_list(&props["Policies"])
                    .into_iter()
                    .map(|p| &p["PolicyDocument"])
                    .collect()
            }
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy") => {
                vec![&props["PolicyDocument"]]
            }
            _ => continue,
        };
        // A stand-alone policy is charged to every role it names.
        let roles: Vec<String> = match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => vec![name.clone()],
            _ => {
                let named: Vec<String> = as_list(&props["Roles"])
                    .into_iter()
                    .map(|r| resolve(r).trim_matches(['<', '>']).to_owned())
                    .chain(props["RoleName"].as_str().map(str::to_owned))
                    .collect();
                if named.is_empty() {
                    vec![name.clone()]
                } else {
                    named
                }
            }
        };
        for document in documents {
            for statement in as_list(&document["Statement"]) {
                if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
                    problems.push(format!("{name}: NotAction/NotResource grants too much"));
                }
                if statement["Effect"].as_str() != Some("Allow") {
                    continue;
                }
                for role in &roles {
                    out.push(Grant {
                        role: role.clone(),
                        condition: resource["Condition"].as_str().map(str::to_owned),
                        actions: as_list(&statement["Action"])
                            .into_iter()
                            .map(|a| a.as_str().map_or_else(|| format!("?{a}"), str::to_owned))
                            .collect(),
                        resources: as_list(&statement["Resource"])
                            .into_iter()
                            .map(resolve)
                            .collect(),
                    });
                }
            }
        }
    }
    (out, problems)
}

/// Logical ids of the resources of a type.
fn of_type(template: &Value, kind: &str) -> Vec<String> {
    template["Resources"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(_, v)| v["Type"].as_str() == Some(kind))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Function logical id → its role's logical id.
fn function_roles(template: &Value) -> BTreeMap<String, String> {
    of_type(template, "AWS::Lambda::Function")
        .into_iter()
        .filter_map(|f| {
            let role = resolve(&template["Resources"][&f]["Properties"]["Role"]);
            let role = role.strip_prefix('<')?.strip_suffix(".Arn>")?.to_owned();
            Some((f, role))
        })
        .collect()
}

/// Functions a Lambda permission lets the given service principal invoke.
fn invoked_by(template: &Value, principal: &str) -> BTreeSet<String> {
    of_type(template, "AWS::Lambda::Permission")
        .into_iter()
        .filter_map(|p| {
            let props = &template["Resources"][&p]["Properties"];
            (props["Principal"].as_str() == Some(principal)).then(|| {
                resolve(&props["FunctionName"])
                    .trim_matches(['<', '>'])
                    .to_owned()
            })
        })
        .collect()
}

/// Function → the queue its SQS event source mapping reads (the probe workers).
fn queue_consumers(template: &Value) -> BTreeMap<String, String> {
    of_type(template, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .map(|m| {
            let props = &template["Resources"][&m]["Properties"];
            let function = resolve(&props["FunctionName"])
                .trim_matches(['<', '>'])
                .to_owned();
            (function, resolve(&props["EventSourceArn"]))
        })
        .collect()
}

/// The grants every probe function may have besides its own: state-change events on the
/// default bus, and the extra CA secret only when it is given. `true` when `action` is one.
fn common_probe_grant(
    template: &Value,
    function: &str,
    action: &str,
    g: &Grant,
    problems: &mut Vec<String>,
) -> bool {
    match action {
        "events:PutEvents" => {
            if !g
                .resources
                .iter()
                .all(|r| r.starts_with("arn:") && r.ends_with(":event-bus/default"))
            {
                problems.push(format!(
                    "{function} (probe): events:PutEvents on {:?}, not the default bus",
                    g.resources
                ));
            }
            true
        }
        "secretsmanager:GetSecretValue" => {
            let extra_ca = format!("<{EXTRA_CA_PARAMETER}>");
            if g.resources != [extra_ca] {
                problems.push(format!(
                    "{function} (probe): {action} on {:?}, not only the extra CA secret",
                    g.resources
                ));
            }
            let conditional = g
                .condition
                .as_deref()
                .is_some_and(|c| is_set_condition(template, c, EXTRA_CA_PARAMETER));
            if !conditional {
                problems.push(format!(
                    "{function} (probe): {action} granted without the condition that \
                     {EXTRA_CA_PARAMETER} is set"
                ));
            }
            true
        }
        _ => false,
    }
}

/// A probe function's grant on the connectors' credential secrets: `GetSecretValue` only.
/// `true` when it is that.
fn credentials_grant(function: &str, action: &str, problems: &mut Vec<String>) -> bool {
    if action == READ_SECRET {
        return true;
    }
    problems.push(format!(
        "{function}: {action} on the connectors' credentials: only {READ_SECRET}"
    ));
    false
}

fn actions_of<'a>(grants: &'a [Grant], role: &str) -> Vec<(&'a str, &'a Grant)> {
    grants
        .iter()
        .filter(|g| g.role == role)
        .flat_map(|g| g.actions.iter().map(move |a| (a.as_str(), g)))
        .collect()
}

fn is_write(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or(action);
    [
        "Put",
        "Update",
        "Delete",
        "BatchWrite",
        "Write",
        "Create",
        "Restore",
        "Tag",
        "Untag",
    ]
    .iter()
    .any(|w| verb.starts_with(w))
}

/// Whether the template's condition `name` is "`parameter` is not empty".
fn is_set_condition(template: &Value, name: &str, parameter: &str) -> bool {
    template["Conditions"][name] == json!({"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]})
}

/// The extra CA parameter, where the template has one, must default to empty and take one
/// full ARN only.
fn extra_ca_parameter_problems(template: &Value) -> Vec<String> {
    let parameter = &template["Parameters"][EXTRA_CA_PARAMETER];
    if parameter.is_null() {
        return vec![];
    }
    let mut problems = vec![];
    if parameter["Default"] != json!("") {
        problems.push(format!("{EXTRA_CA_PARAMETER}: its default is not empty"));
    }
    if parameter["AllowedPattern"] != json!(EXTRA_CA_PATTERN) {
        problems.push(format!(
            "{EXTRA_CA_PARAMETER}: AllowedPattern is not {EXTRA_CA_PATTERN:?}"
        ));
    }
    problems
}

/// Every least-privilege rule; the list of violations, empty when the template passes.
fn violations(template: &Value) -> Vec<String> {
    let (grants, mut problems) = grants(template);
    problems.extend(extra_ca_parameter_problems(template));
    let (history, tables): (Vec<String>, Vec<String>) = of_type(template, "AWS::DynamoDB::Table")
        .into_iter()
        .partition(|t| t == HISTORY_TABLE);
    let history_arn = history.first().map(|t| format!("<{t}.Arn>"));
    let is_history = |g: &Grant| {
        history_arn
            .as_ref()
            .is_some_and(|h| g.resources == [h.clone()])
    };
    let mut history_readers = 0;
    let secrets = of_type(template, "AWS::SecretsManager::Secret");
    let (table_arn, credentials) = match tables.as_slice() {
        [t] => (format!("<{t}.Arn>"), credentials_arn(t)),
        other => {
            problems.push(format!("expected one DynamoDB table, found {other:?}"));
            (String::new(), String::new())
        }
    };
    let is_credentials =
        |g: &Grant| !credentials.is_empty() && g.resources == [credentials.clone()];
    let secret_arn = match secrets.as_slice() {
        [s] => format!("<{s}>"),
        other => {
            problems.push(format!("expected one secret, found {other:?}"));
            String::new()
        }
    };

    // Everywhere: no wildcard action, no unscoped resource.
    for g in &grants {
        for a in &g.actions {
            if a.contains('*') || a.starts_with('?') {
                problems.push(format!("{}: action {a} is a wildcard", g.role));
            }
        }
        if g.resources.is_empty() {
            problems.push(format!("{}: statement without a resource", g.role));
        }
        for r in &g.resources {
            let the_one_prefix = *r == credentials && g.actions == [READ_SECRET];
            if (r.contains('*') && !the_one_prefix) || r.starts_with('?') {
                problems.push(format!("{}: resource {r} is not scoped", g.role));
            }
        }
    }

    let roles = function_roles(template);
    let api = invoked_by(template, "apigateway.amazonaws.com");
    let scheduled = invoked_by(template, "events.amazonaws.com");
    if api.is_empty() {
        problems.push("no function is invoked by API Gateway".into());
    }
    if scheduled.is_empty() {
        problems.push("no function is invoked by an EventBridge schedule".into());
    }

    for function in &api {
        let Some(role) = roles.get(function) else {
            problems.push(format!("{function}: no role found"));
            continue;
        };
        let mut dynamodb = BTreeSet::new();
        let mut reads_history = false;
        for (action, g) in actions_of(&grants, role) {
            if is_write(action) {
                problems.push(format!("{function} (API): write action {action}"));
            }
            match action.split(':').next() {
                // The history: Query, and only that, on the history table only.
                Some("dynamodb") if is_history(g) => {
                    if action != "dynamodb:Query" {
                        problems.push(format!(
                            "{function} (API): {action} on {:?}: only Query on the history table",
                            g.resources
                        ));
                    }
                    reads_history = true;
                }
                Some("dynamodb") => {
                    dynamodb.insert(action);
                    if g.resources != [table_arn.clone()] {
                        problems.push(format!(
                            "{function} (API): {action} on {:?}, not only the table",
                            g.resources
                        ));
                    }
                }
                Some("secretsmanager") => {
                    if action != "secretsmanager:GetSecretValue" {
                        problems.push(format!("{function} (API): {action}"));
                    }
                    if g.resources != [secret_arn.clone()] {
                        problems.push(format!(
                            "{function} (API): {action} on {:?}, not only the key secret",
                            g.resources
                        ));
                    }
                }
                _ => problems.push(format!("{function} (API): unexpected action {action}")),
            }
        }
        let expected = BTreeSet::from(["dynamodb:GetItem", "dynamodb:Scan"]);
        if dynamodb != expected {
            problems.push(format!(
                "{function} (API): DynamoDB actions {dynamodb:?}, expected {expected:?}"
            ));
        }
        history_readers += usize::from(reads_history);
    }
    if history_arn.is_some() && history_readers == 0 {
        problems.push("no API function may Query the history table".into());
    }

    let consumers = queue_consumers(template);
    let queues: BTreeSet<&String> = consumers.values().collect();
    for function in &scheduled {
        let Some(role) = roles.get(function) else {
            problems.push(format!("{function}: no role found"));
            continue;
        };
        let mut dynamodb = BTreeSet::new();
        let mut publishes = false;
        let mut records_history = false;
        let mut reads_credentials = false;
        for (action, g) in actions_of(&grants, role) {
            if is_credentials(g) {
                reads_credentials |= credentials_grant(function, action, &mut problems);
                continue;
            }
            if common_probe_grant(template, function, action, g, &mut problems) {
                publishes |= action == "events:PutEvents";
                continue;
            }
            if is_history(g) {
                if action == "dynamodb:UpdateItem" {
                    records_history = true;
                } else {
                    problems.push(format!(
                        "{function} (probe): {action} on the history table: only UpdateItem"
                    ));
                }
                continue;
            }
            match action {
                "dynamodb:Scan" | "dynamodb:GetItem" | "dynamodb:UpdateItem" => {
                    dynamodb.insert(action);
                    if g.resources != [table_arn.clone()] {
                        problems.push(format!(
                            "{function} (probe): {action} on {:?}, not only the table",
                            g.resources
                        ));
                    }
                }
                // The dispatcher sends batches, to the workers' queue only.
                "sqs:SendMessage" => {
                    if g.resources.is_empty() || !g.resources.iter().all(|r| queues.contains(r)) {
                        problems.push(format!(
                            "{function} (probe): sqs:SendMessage on {:?}, not only the probe queue",
                            g.resources
                        ));
                    }
                }
                other => problems.push(format!("{function} (probe): unexpected action {other}")),
            }
        }
        if dynamodb.len() != 3 {
            problems.push(format!(
                "{function} (probe): DynamoDB actions {dynamodb:?}, expected Scan, GetItem, UpdateItem"
            ));
        }
        if !publishes {
            problems.push(format!("{function} (probe): cannot publish its events"));
        }
        if history_arn.is_some() && !records_history {
            problems.push(format!("{function} (probe): cannot record history"));
        }
        if !reads_credentials {
            problems.push(format!(
                "{function} (probe): cannot read the connectors' credentials"
            ));
        }
    }

    // The workers: claim and record (UpdateItem), receive and delete from their own queue.
    for (function, queue) in &consumers {
        if scheduled.contains(function) || api.contains(function) {
            problems.push(format!(
                "{function}: a queue worker is also invoked otherwise"
            ));
        }
        let Some(role) = roles.get(function) else {
            problems.push(format!("{function}: no role found"));
            continue;
        };
        let mut needed = BTreeSet::from([
            "dynamodb:UpdateItem",
            "events:PutEvents",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ]);
        let mut records_history = false;
        let mut reads_credentials = false;
        for (action, g) in actions_of(&grants, role) {
            if is_history(g) {
                if action == "dynamodb:UpdateItem" {
                    records_history = true;
                } else {
                    problems.push(format!(
                        "{function} (worker): {action} on the history table: only UpdateItem"
                    ));
                }
                continue;
            }
            if is_credentials(g) {
                reads_credentials |= credentials_grant(function, action, &mut problems);
                continue;
            }
            needed.remove(action);
            if common_probe_grant(template, function, action, g, &mut problems) {
                continue;
            }
            let only = match action {
                "dynamodb:UpdateItem" => &table_arn,
                "sqs:ReceiveMessage" | "sqs:DeleteMessage" | "sqs:GetQueueAttributes" => queue,
                other => {
                    problems.push(format!("{function} (worker): unexpected action {other}"));
                    continue;
                }
            };
            if g.resources != [only.clone()] {
                problems.push(format!(
                    "{function} (worker): {action} on {:?}, not only {only}",
                    g.resources
                ));
            }
        }
        if !needed.is_empty() {
            problems.push(format!("{function} (worker): missing {needed:?}"));
        }
        if history_arn.is_some() && !records_history {
            problems.push(format!("{function} (worker): cannot record history"));
        }
        if !reads_credentials {
            problems.push(format!(
                "{function} (worker): cannot read the connectors' credentials"
            ));
        }
    }
    problems
}

/// The expanded template; `None` (having said so, see `testkit::guard`) when it has not
/// been made.
fn load_expanded() -> Option<Value> {
    let path = expanded_template_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            return testkit::guard::cannot_run(&format!(
                "needs {} ({e}): run make validate-template (it expands template.yaml)",
                path.display()
            ))
        }
    };
    Some(serde_json::from_str(&text).expect("the expanded template is JSON"))
}

#[test]
fn the_deployed_template_grants_least_privilege() {
    let Some(template) = load_expanded() else {
        return;
    };
    let problems = violations(&template);
    assert!(problems.is_empty(), "least privilege: {problems:#?}");
    // The checks saw what they are meant to check.
    let roles = function_roles(&template);
    assert_eq!(roles.len(), 5, "five functions, each with its role");
    assert_eq!(
        queue_consumers(&template),
        BTreeMap::from([(
            "ProbeWorkerFunction".to_owned(),
            "<ProbeQueue.Arn>".to_owned()
        )])
    );
    assert_eq!(invoked_by(&template, "apigateway.amazonaws.com").len(), 3);
    assert_eq!(
        invoked_by(&template, "events.amazonaws.com"),
        BTreeSet::from(["ProbeConnectorsFunction".to_owned()])
    );
    let (grants, _) = grants(&template);
    assert!(
        grants.len() >= 6,
        "every role has its statements: {grants:#?}"
    );
    // The extra CA secret: readable by the probe, only when given, and handed to it.
    let probe_role = &roles["ProbeConnectorsFunction"];
    assert!(
        grants.iter().any(|g| &g.role == probe_role
            && g.actions == ["secretsmanager:GetSecretValue"]
            && g.condition.is_some()),
        "the probe may read the extra CA secret when one is given: {grants:#?}"
    );
    let variables =
        &template["Resources"]["ProbeConnectorsFunction"]["Properties"]["Environment"]["Variables"];
    let condition = grants
        .iter()
        .find_map(|g| g.condition.clone())
        .expect("a conditional grant");
    assert_eq!(
        variables["PROBE_EXTRA_CA_SECRET_ID"],
        json!({"Fn::If": [condition, {"Ref": EXTRA_CA_PARAMETER}, ""]})
    );
    let worker_role = &roles["ProbeWorkerFunction"];
    assert!(
        grants.iter().any(|g| &g.role == worker_role
            && g.actions == ["secretsmanager:GetSecretValue"]
            && g.condition.is_some()),
        "the workers may read the extra CA secret when one is given: {grants:#?}"
    );
}

#[test]
fn the_probe_queue_reports_partial_failures_and_keeps_what_fails() {
    let Some(template) = load_expanded() else {
        return;
    };
    let resources = &template["Resources"];
    let mapping = &resources["ProbeWorkerQueueMapping"]["Properties"];
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["ScalingConfig"]["MaximumConcurrency"],
        json!({"Ref": "ProbeWorkerMaxConcurrency"})
    );
    assert_eq!(mapping["BatchSize"], json!(1));
    let queue = &resources["ProbeQueue"]["Properties"];
    let worker_timeout = resources["ProbeWorkerFunction"]["Properties"]["Timeout"]
        .as_u64()
        .expect("the worker's timeout");
    let visibility = queue["VisibilityTimeout"]
        .as_u64()
        .expect("a visibility timeout");
    assert!(
        visibility >= 2 * worker_timeout,
        "a batch is not delivered again while its worker may still run: {visibility} s"
    );
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": ["ProbeDeadLetterQueue", "Arn"]})
    );
    let alarm = &resources["ProbeDeadLetterAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["ProbeDeadLetterQueue", "QueueName"]})
    );
    assert_eq!(alarm["Threshold"], json!(0));
    // The dispatcher knows its queue, and messages name no URL.
    let variables = &resources["ProbeConnectorsFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["PROBE_QUEUE_URL"], json!({"Ref": "ProbeQueue"}));
}

// ---- the checks refuse broken templates -------------------------------------------------

/// A minimal expanded template: one table, one secret, an API function and a probe function.
fn minimal(api_statements: Value, probe_statements: Value) -> Value {
    let role = |statements: Value| {
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statements}}]
            }
        })
    };
    let function = |role: &str| json!({"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": [role, "Arn"]}}});
    let permission = |function: &str, principal: &str| {
        json!({"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": function}, "Principal": principal}})
    };
    json!({
    "Parameters": {EXTRA_CA_PARAMETER: {"Type": "String", "Default": "", "AllowedPattern": EXTRA_CA_PATTERN}},
    "Conditions": {"HasExtraCa": {"Fn::Not": [{"Fn::Equals": [{"Ref": EXTRA_CA_PARAMETER}, ""]}]},
                   "Other": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Secret": {"Type": "AWS::SecretsManager::Secret"},
        "ApiRole": role(api_statements),
        "ProbeRole": role(probe_statements),
        "Api": function("ApiRole"),
        "Probe": function("ProbeRole"),
        "ApiPermission": permission("Api", "apigateway.amazonaws.com"),
        "ProbePermission": permission("Probe", "events.amazonaws.com"),
    }})
}

fn good_api() -> Value {
    json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"],
         "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": {"Fn::Sub": ["${secretArn}", {"secretArn": {"Ref": "Secret"}}]}}
    ])
}

/// Reading the connectors' credential secrets, as the template grants it.
fn read_credentials() -> Value {
    json!({"Effect": "Allow", "Action": READ_SECRET, "Resource": {"Fn::Sub":
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:connector-health/${Table}/connector/*"}})
}

fn good_probe() -> Value {
    json!([
        {"Effect": "Allow", "Action": ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem"],
         "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
        {"Effect": "Allow", "Action": "events:PutEvents",
         "Resource": {"Fn::Sub": ["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${eventBusName}",
                                  {"eventBusName": "default"}]}},
        read_credentials()
    ])
}

/// The minimal template with a history table: the API may Query it, the probe UpdateItem it.
fn with_history(api_extra: Value, probe_extra: Value) -> Value {
    let mut api = good_api();
    api.as_array_mut().unwrap().push(api_extra);
    let mut probe = good_probe();
    probe.as_array_mut().unwrap().push(probe_extra);
    let mut template = minimal(api, probe);
    template["Resources"][HISTORY_TABLE] = json!({"Type": "AWS::DynamoDB::Table"});
    template
}

fn on_history(action: &str) -> Value {
    json!({"Effect": "Allow", "Action": action, "Resource": {"Fn::GetAtt": [HISTORY_TABLE, "Arn"]}})
}

#[test]
fn the_history_table_is_queried_by_the_api_and_updated_by_the_probe_only() {
    let good = with_history(
        on_history("dynamodb:Query"),
        on_history("dynamodb:UpdateItem"),
    );
    assert_eq!(violations(&good), Vec::<String>::new());
    // The API may not write it, nor scan or get it; the probe may not read it.
    refused(
        &with_history(
            on_history("dynamodb:UpdateItem"),
            on_history("dynamodb:UpdateItem"),
        ),
        "write action dynamodb:UpdateItem",
    );
    refused(
        &with_history(
            on_history("dynamodb:Scan"),
            on_history("dynamodb:UpdateItem"),
        ),
        "only Query on the history table",
    );
    refused(
        &with_history(on_history("dynamodb:Query"), on_history("dynamodb:Query")),
        "dynamodb:Query on the history table: only UpdateItem",
    );
    // Query on the connector table is not allowed either.
    refused(
        &with_history(
            json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}),
            on_history("dynamodb:UpdateItem"),
        ),
        "DynamoDB actions",
    );
    // Each side needs its grant.
    let mut no_reader = with_history(
        on_history("dynamodb:Query"),
        on_history("dynamodb:UpdateItem"),
    );
    no_reader["Resources"]["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
        .pop();
    refused(&no_reader, "no API function may Query the history table");
    let mut no_writer = with_history(
        on_history("dynamodb:Query"),
        on_history("dynamodb:UpdateItem"),
    );
    no_writer["Resources"]["ProbeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
        .pop();
    refused(&no_writer, "(probe): cannot record history");
}

fn refused(template: &Value, expected: &str) {
    let problems = violations(template);
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a violation mentioning {expected:?}, got {problems:#?}"
    );
}

#[test]
fn the_minimal_template_passes() {
    assert_eq!(
        violations(&minimal(good_api(), good_probe())),
        Vec::<String>::new()
    );
}

#[test]
fn wildcard_actions_are_refused() {
    let mut api = good_api();
    api[0]["Action"] = json!("dynamodb:*");
    refused(&minimal(api, good_probe()), "dynamodb:* is a wildcard");
    let mut probe = good_probe();
    probe[1]["Action"] = json!(["events:Put*"]);
    refused(&minimal(good_api(), probe), "events:Put* is a wildcard");
}

#[test]
fn unscoped_resources_are_refused() {
    let mut api = good_api();
    api[0]["Resource"] = json!("*");
    refused(&minimal(api, good_probe()), "resource * is not scoped");
    let mut api = good_api();
    api[0]["Resource"] = json!({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"});
    refused(&minimal(api, good_probe()), "is not scoped");
    let mut probe = good_probe();
    probe[1]["Resource"] =
        json!({"Fn::Sub": ["arn:aws:events:us-east-1:1:event-bus/${b}", {"b": "*"}]});
    refused(&minimal(good_api(), probe), "is not scoped");
}

#[test]
fn api_functions_cannot_write_or_read_more_than_they_need() {
    let mut api = good_api();
    api[0]["Action"] = json!(["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:PutItem"]);
    refused(&minimal(api, good_probe()), "write action dynamodb:PutItem");
    let mut api = good_api();
    api[0]["Action"] = json!(["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query"]);
    refused(&minimal(api, good_probe()), "DynamoDB actions");
    let mut api = good_api();
    api[1]["Action"] = json!([
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue"
    ]);
    refused(
        &minimal(api, good_probe()),
        "write action secretsmanager:PutSecretValue",
    );
    let mut api = good_api();
    api[0]["Resource"] = json!({"Fn::Sub": "${Table.Arn}/index/byName"});
    refused(&minimal(api, good_probe()), "not only the table");
    let mut api = good_api();
    api.as_array_mut().unwrap().push(json!({"Effect": "Allow",
        "NotAction": "iam:*", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}));
    refused(&minimal(api, good_probe()), "NotAction");
}

#[test]
fn the_probe_needs_its_writes_and_nothing_more() {
    let mut probe = good_probe();
    probe[0]["Action"] = json!(["dynamodb:Scan", "dynamodb:GetItem"]);
    refused(
        &minimal(good_api(), probe),
        "expected Scan, GetItem, UpdateItem",
    );
    let mut probe = good_probe();
    probe.as_array_mut().unwrap().remove(1);
    refused(&minimal(good_api(), probe), "cannot publish its events");
    let mut probe = good_probe();
    probe[0]["Action"] = json!([
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem"
    ]);
    refused(
        &minimal(good_api(), probe),
        "unexpected action dynamodb:DeleteItem",
    );
    let mut probe = good_probe();
    probe[1]["Resource"] = json!("arn:aws:events:us-east-1:123456789012:event-bus/other");
    refused(&minimal(good_api(), probe), "not the default bus");
}

#[test]
fn only_the_probe_functions_read_the_connectors_credentials_and_only_under_their_prefix() {
    let with_resource = |arn: &str| {
        let mut probe = good_probe();
        probe[2]["Resource"] = json!({ "Fn::Sub": arn });
        minimal(good_api(), probe)
    };
    let prefix = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:";
    // Broader than the prefix, or a wildcard elsewhere in it, is not the one allowed wildcard.
    for broader in [
        format!("{prefix}*"),
        format!("{prefix}connector-health/*"),
        format!("{prefix}connector-health/${{Table}}/*"),
        format!("{prefix}connector-health/*/connector/*"),
        format!("{prefix}connector-health/${{Table}}/connector/**"),
        "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:connector-health/${Table}/connector/*".to_owned(),
    ] {
        refused(&with_resource(&broader), "is not scoped");
    }
    // The prefix itself is allowed for GetSecretValue only.
    let mut probe = good_probe();
    probe[2]["Action"] = json!([
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret"
    ]);
    refused(&minimal(good_api(), probe), "is not scoped");
    let mut probe = good_probe();
    probe[2]["Action"] = json!("secretsmanager:PutSecretValue");
    refused(&minimal(good_api(), probe), "is not scoped");
    // The probe must be able to read them.
    let mut probe = good_probe();
    probe.as_array_mut().unwrap().remove(2);
    refused(
        &minimal(good_api(), probe),
        "Probe (probe): cannot read the connectors' credentials",
    );
    // The API functions (and so the status page) may not.
    let mut api = good_api();
    api.as_array_mut().unwrap().push(read_credentials());
    refused(&minimal(api, good_probe()), "not only the key secret");
    // Nor may they be named in another way, say as a second resource beside the key secret.
    let mut api = good_api();
    api[1]["Resource"] = json!([
        api[1]["Resource"].clone(),
        read_credentials()["Resource"].clone()
    ]);
    refused(&minimal(api, good_probe()), "not only the key secret");
}

/// `template` with a stand-alone policy granting the probe role `statement`, under `condition`.
fn with_probe_policy(mut template: Value, statement: Value, condition: Option<&str>) -> Value {
    let mut policy = json!({"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyName": "extra", "Roles": [{"Ref": "ProbeRole"}],
        "PolicyDocument": {"Statement": [statement]}}});
    if let Some(c) = condition {
        policy["Condition"] = json!(c);
    }
    template["Resources"]["ExtraCaPolicy"] = policy;
    template
}

fn read_extra_ca() -> Value {
    json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
           "Resource": {"Ref": EXTRA_CA_PARAMETER}})
}

#[test]
fn the_probe_may_read_the_extra_ca_secret_only_when_it_is_given() {
    let base = || minimal(good_api(), good_probe());
    assert_eq!(
        violations(&with_probe_policy(
            base(),
            read_extra_ca(),
            Some("HasExtraCa")
        )),
        Vec::<String>::new()
    );
    refused(
        &with_probe_policy(base(), read_extra_ca(), None),
        "without the condition that ProbeExtraCaSecretArn is set",
    );
    refused(
        &with_probe_policy(base(), read_extra_ca(), Some("Other")),
        "without the condition that ProbeExtraCaSecretArn is set",
    );
    let mut key_secret = read_extra_ca();
    key_secret["Resource"] = json!({"Ref": "Secret"});
    refused(
        &with_probe_policy(base(), key_secret, Some("HasExtraCa")),
        "not only the extra CA secret",
    );
    let mut write = read_extra_ca();
    write["Action"] = json!("secretsmanager:PutSecretValue");
    refused(
        &with_probe_policy(base(), write, Some("HasExtraCa")),
        "unexpected action secretsmanager:PutSecretValue",
    );
    let mut open = base();
    open["Parameters"][EXTRA_CA_PARAMETER]["AllowedPattern"] = json!(".*");
    refused(&open, "AllowedPattern is not");
    let mut preset = base();
    preset["Parameters"][EXTRA_CA_PARAMETER]["Default"] =
        json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:x");
    refused(&preset, "its default is not empty");
}

#[test]
fn only_the_basic_execution_role_may_be_attached() {
    let mut template = minimal(good_api(), good_probe());
    template["Resources"]["ApiRole"]["Properties"]["ManagedPolicyArns"] =
        json!(["arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"]);
    refused(&template, "AmazonDynamoDBReadOnlyAccess is not allowed");
}

/// `template` with a probe queue, a worker consuming it with `worker` statements, and the
/// scheduled function also granted `dispatcher_extra`.
fn with_worker(mut template: Value, dispatcher_extra: Value, worker: Value) -> Value {
    let resources = template["Resources"].as_object_mut().unwrap();
    resources.insert("Queue".into(), json!({"Type": "AWS::SQS::Queue"}));
    resources.insert("OtherQueue".into(), json!({"Type": "AWS::SQS::Queue"}));
    resources.insert(
        "WorkerRole".into(),
        json!({"Type": "AWS::IAM::Role", "Properties": {
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": worker}}]}}),
    );
    resources.insert(
        "Worker".into(),
        json!({"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["WorkerRole", "Arn"]}}}),
    );
    resources.insert(
        "Mapping".into(),
        json!({"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Ref": "Worker"}, "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}}}),
    );
    let probe = template["Resources"]["ProbeRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array_mut()
        .unwrap();
    probe.extend(dispatcher_extra.as_array().unwrap().iter().cloned());
    template
}

fn send_to(queue: &str) -> Value {
    json!([{"Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": [queue, "Arn"]}}])
}

fn good_worker() -> Value {
    json!([
        {"Effect": "Allow", "Action": "dynamodb:UpdateItem",
         "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
        {"Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}},
        {"Effect": "Allow", "Action": "events:PutEvents",
         "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/default"},
        read_credentials()
    ])
}

#[test]
fn the_dispatcher_may_only_send_to_its_queue_and_workers_only_consume_it() {
    let base = || minimal(good_api(), good_probe());
    assert_eq!(
        violations(&with_worker(base(), send_to("Queue"), good_worker())),
        Vec::<String>::new()
    );
    // The dispatcher: another queue, or consuming.
    refused(
        &with_worker(base(), send_to("OtherQueue"), good_worker()),
        "not only the probe queue",
    );
    let mut receive = send_to("Queue");
    receive[0]["Action"] = json!("sqs:ReceiveMessage");
    refused(
        &with_worker(base(), receive, good_worker()),
        "unexpected action sqs:ReceiveMessage",
    );
    // The worker: sending, scanning, another queue, or missing what it needs.
    let mut worker = good_worker();
    worker[1]["Action"] = json!([
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage"
    ]);
    refused(
        &with_worker(base(), send_to("Queue"), worker),
        "(worker): unexpected action sqs:SendMessage",
    );
    let mut worker = good_worker();
    worker[0]["Action"] = json!(["dynamodb:UpdateItem", "dynamodb:Scan"]);
    refused(
        &with_worker(base(), send_to("Queue"), worker),
        "(worker): unexpected action dynamodb:Scan",
    );
    let mut worker = good_worker();
    worker[1]["Resource"] = json!({"Fn::GetAtt": ["OtherQueue", "Arn"]});
    refused(
        &with_worker(base(), send_to("Queue"), worker),
        "not only <Queue.Arn>",
    );
    let mut worker = good_worker();
    worker.as_array_mut().unwrap().remove(0);
    refused(
        &with_worker(base(), send_to("Queue"), worker),
        "missing {\"dynamodb:UpdateItem\"}",
    );
    let mut worker = good_worker();
    worker.as_array_mut().unwrap().remove(3);
    refused(
        &with_worker(base(), send_to("Queue"), worker),
        "Worker (worker): cannot read the connectors' credentials",
    );
}

/// The status page's paths.
const STATUS_PAGE_PATHS: [&str; 2] = ["/status", "/status/{id}"];

/// The functions each path of the HTTP API sends each method to (`get`, `head`,
/// `x-amazon-apigateway-any-method`), from the expanded API's OpenAPI body.
fn routes(template: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for api in of_type(template, "AWS::ApiGatewayV2::Api") {
        let paths = &template["Resources"][&api]["Properties"]["Body"]["paths"];
        for (path, methods) in paths.as_object().into_iter().flatten() {
            for (method, op) in methods.as_object().into_iter().flatten() {
                let uri = resolve(&op["x-amazon-apigateway-integration"]["uri"]);
                let function = uri
                    .split("${")
                    .find_map(|s| s.split_once(".Arn}").map(|(f, _)| f))
                    .unwrap_or("?")
                    .to_owned();
                out.insert((path.clone(), method.clone()), function);
            }
        }
    }
    out
}

/// The status page: one function of its own behind `/status` and `/status/{id}` (GET, HEAD,
/// and every other method, which it refuses itself), serving nothing else; its grants are
/// exactly the read functions' (`GetItem` and `Scan` on the table, `Query` on the history
/// table, the key secret); it is public only when `StatusPagePublic` says so, and that
/// parameter is `false` unless set.
fn status_page_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let routes = routes(template);
    let mut functions = BTreeSet::new();
    for path in STATUS_PAGE_PATHS {
        for method in ["get", "head", "x-amazon-apigateway-any-method"] {
            match routes.get(&(path.to_owned(), method.to_owned())) {
                Some(f) => {
                    functions.insert(f.clone());
                }
                None => problems.push(format!("no route for {method} {path}")),
            }
        }
    }
    let [function] = functions.iter().collect::<Vec<_>>()[..] else {
        problems.push(format!(
            "the status page is served by {functions:?}, not one function"
        ));
        return problems;
    };
    for ((path, method), f) in &routes {
        if f == function && !STATUS_PAGE_PATHS.contains(&path.as_str()) {
            problems.push(format!("{function} also serves {method} {path}"));
        }
    }
    let (grants, _) = grants(template);
    let roles = function_roles(template);
    let Some(role) = roles.get(function) else {
        problems.push(format!("{function}: no role"));
        return problems;
    };
    let actions: BTreeSet<&str> = actions_of(&grants, role)
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let expected = BTreeSet::from([
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "secretsmanager:GetSecretValue",
    ]);
    if actions != expected {
        problems.push(format!(
            "{function}: actions {actions:?}, expected {expected:?}"
        ));
    }
    let variables = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    if variables["STATUS_PAGE_PUBLIC"] != json!({"Ref": "StatusPagePublic"}) {
        problems.push(format!(
            "{function}: STATUS_PAGE_PUBLIC is not the StatusPagePublic parameter"
        ));
    }
    if template["Parameters"]["StatusPagePublic"]["Default"] != json!("false") {
        problems.push("StatusPagePublic must default to false".into());
    }
    problems
}

#[test]
fn the_status_page_is_a_read_only_function_of_its_own() {
    let Some(template) = load_expanded() else {
        return;
    };
    assert_eq!(status_page_problems(&template), Vec::<String>::new());
    // The check can fail: a write, a second path, a public default.
    let role = function_roles(&template)["StatusPageFunction"].clone();
    let mut writes = template.clone();
    writes["Resources"][&role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        ["Action"] = json!(["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:PutItem"]);
    assert!(
        status_page_problems(&writes)
            .iter()
            .any(|p| p.contains("dynamodb:PutItem")),
        "{:?}",
        status_page_problems(&writes)
    );
    let mut more = template.clone();
    let api = of_type(&template, "AWS::ApiGatewayV2::Api")[0].clone();
    let paths = &mut more["Resources"][&api]["Properties"]["Body"]["paths"];
    paths["/status/{id}/raw"] = paths["/status"].clone();
    assert!(status_page_problems(&more)
        .iter()
        .any(|p| p.contains("also serves get /status/{id}/raw")));
    let mut open = template.clone();
    open["Parameters"]["StatusPagePublic"]["Default"] = json!("true");
    assert_eq!(
        status_page_problems(&open),
        vec!["StatusPagePublic must default to false".to_owned()]
    );
}

#[test]
fn an_alarm_warns_of_expiring_credentials_from_the_probes_own_figure() {
    let Some(template) = load_expanded() else {
        return;
    };
    let alarm = &template["Resources"]["CredentialsExpiringAlarm"]["Properties"];
    let watched: BTreeSet<(String, String)> = alarm["Metrics"]
        .as_array()
        .expect("metric math")
        .iter()
        .filter_map(|m| {
            let metric = &m["MetricStat"]["Metric"];
            Some((
                metric["MetricName"].as_str()?.to_owned(),
                resolve(&metric["Dimensions"][0]["Value"]),
            ))
        })
        .collect();
    assert_eq!(
        watched,
        BTreeSet::from([
            (
                "CredentialsExpiring".to_owned(),
                "<ProbeConnectorsFunction>".to_owned()
            ),
            (
                "CredentialsExpiring".to_owned(),
                "<ProbeWorkerFunction>".to_owned()
            ),
        ])
    );
    // The figure is one the probe's EMF line declares and carries.
    let summary = shared::runner::RunSummary {
        credentials_expiring: 2,
        ..Default::default()
    };
    let line = probe_connectors::handler::emf(&summary, 0, 0, "f");
    assert_eq!(line["CredentialsExpiring"], 2);
    assert!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["Name"] == "CredentialsExpiring"));
}
