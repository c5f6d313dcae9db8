//! `--stack NAME`: the deployment's settings from its CloudFormation stack outputs.
//!
//! The output keys are those of `template.yaml`: [`API_URL`], [`TABLE_NAME`],
//! [`KEY_SECRET_ARN`] and [`PROBE_FUNCTION_NAME`].

use crate::error::{AdminError, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use shared::aws::dependency_error;

const SERVICE: &str = "CloudFormation";

pub const API_URL: &str = "ApiUrl";
pub const TABLE_NAME: &str = "TableName";
pub const HISTORY_TABLE_NAME: &str = "HistoryTableName";
pub const KEY_SECRET_ARN: &str = "KeySecretArn";
pub const PROBE_FUNCTION_NAME: &str = "ProbeFunctionName";

/// What a stack's outputs say (any of them may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOutputs {
    pub api_url: Option<String>,
    pub table: Option<String>,
    pub history_table: Option<String>,
    pub secret: Option<String>,
    pub probe_function: Option<String>,
}

impl StackOutputs {
    /// Reads the outputs of stack `name` with one `DescribeStacks` call.
    pub async fn load(aws: &SdkConfig, name: &str) -> Result<Self> {
        let client = aws_sdk_cloudformation::Client::new(aws);
        let out = client
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| {
                // CloudFormation answers `ValidationError` for a stack name that names no
                // stack (it has no not-found code).
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("ValidationError")
                {
                    let region = aws.region().map_or("(no region)", |r| r.as_ref());
                    AdminError::NotFound(format!("stack {name} does not exist in region {region}"))
                } else {
                    dependency_error(SERVICE, &format!("stack {name}"), e).into()
                }
            })?;
        let mut found = Self::default();
        let outputs = out
            .stacks()
            .first()
            .map(|s| s.outputs())
            .unwrap_or_default();
        for o in outputs {
            let (Some(key), Some(value)) = (o.output_key(), o.output_value()) else {
                continue;
            };
            let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
            match key {
                API_URL => found.api_url = value,
                TABLE_NAME => found.table = value,
                HISTORY_TABLE_NAME => found.history_table = value,
                KEY_SECRET_ARN => found.secret = value,
                PROBE_FUNCTION_NAME => found.probe_function = value,
                _ => {}
            }
        }
        Ok(found)
    }
}
