#!/usr/bin/env python3
"""Expand the SAM template into plain CloudFormation, offline.

    expand.py TEMPLATE OUTPUT.json

Runs the AWS SAM translator (the code behind the AWS::Serverless-2016-10-31 transform) on
TEMPLATE with its parameter defaults and writes the CloudFormation template it produces. cfn-lint
then checks that output, where every Ref/GetAtt/Sub that SAM generated or passed through must
resolve, and tests/integration/template_policies.rs reads the expanded IAM policies.

No AWS call is made: the managed-policy map (IAM ListPolicies) is empty, so a policy given by
name rather than ARN fails the expansion instead of being looked up. A function's local CodeUri
(what `sam build`/`sam package` turn into an S3 object) must be a directory with a Cargo.toml next
to TEMPLATE; it is replaced by a placeholder S3 URI, as `sam package` would.
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


def no_managed_policies() -> dict:
    return {}


def with_placeholder_code(template: dict, base: str) -> list:
    """Replaces local CodeUri values by S3 placeholders; returns the problems found."""
    problems = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.setdefault("Properties", {})
        code = props.get("CodeUri")
        if not isinstance(code, str) or code.startswith("s3://"):
            continue
        if not os.path.isfile(os.path.join(base, code, "Cargo.toml")):
            problems.append(f"{name}: CodeUri {code!r} is not a crate directory (no Cargo.toml)")
        props["CodeUri"] = f"s3://placeholder-bucket/{code.strip('/')}.zip"
    return problems


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    problems = with_placeholder_code(template, os.path.dirname(os.path.abspath(source)))
    for problem in problems:
        print(f"{source}: {problem}", file=sys.stderr)
    if problems:
        return 1
    try:
        expanded = Translator(None, Parser()).translate(
            template,
            parameter_values={},
            get_managed_policy_map=no_managed_policies,
        )
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"{source}: {cause.message}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with open(target + ".tmp", "w", encoding="utf-8") as f:
        json.dump(expanded, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(target + ".tmp", target)
    print(f"{target}: {len(expanded.get('Resources', {}))} resources", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
