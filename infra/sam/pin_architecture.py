#!/usr/bin/env python3
"""Pin the built template's Architecture parameter to the architecture it was built for.

    pin_architecture.py .aws-sam/build/template.yaml x86_64

`sam build --parameter-overrides Architecture=x86_64` builds x86_64 binaries but leaves the
parameter's default (arm64) in the built template, so a later `sam deploy` would put x86_64
binaries on arm64 functions. This sets the default to the built architecture and allows only
that value, so a mismatched `--parameter-overrides` is refused by CloudFormation.
"""

import sys

from samcli.yamlhelper import yaml_dump, yaml_parse


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[2] not in ("arm64", "x86_64"):
        print("usage: pin_architecture.py BUILT_TEMPLATE arm64|x86_64", file=sys.stderr)
        return 2
    path, arch = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    parameter = template.get("Parameters", {}).get("Architecture")
    if parameter is None:
        print(f"{path}: no Architecture parameter", file=sys.stderr)
        return 1
    parameter["Default"] = arch
    parameter["AllowedValues"] = [arch]
    parameter["Description"] = f"Built for {arch} by make package; rebuild to change it."
    with open(path, "w", encoding="utf-8") as f:
        f.write(yaml_dump(template))
    print(f"{path}: Architecture pinned to {arch}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
