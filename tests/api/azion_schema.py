#!/usr/bin/env python3
"""azion_schema.py - check a JSON document against a schema of Azion's OpenAPI, strictly

Usage: azion_schema.py OPENAPI.yaml SCHEMA_NAME < document.json

Loads OPENAPI.yaml (an OpenAPI 3.0 document such as Azion's
personal_tokens.yaml), takes components/schemas/SCHEMA_NAME and makes it a
JSON schema that is stricter than the OpenAPI one in a single way: every
property it lists is required, at every level (nested objects such as
"links", and the items of arrays). Azion's clients read those members
without checking that they are there, so an answer without one breaks them
even though the OpenAPI document marks none as required. Members that the
schema does not list are allowed: Tessera adds its own.

OpenAPI 3.0's "nullable: true" becomes a type list with "null", and every
"$ref" is replaced by the schema it names. Then the document on standard
input is validated, formats included.

Exit status: 0 when the document is valid; 1 when it is not (or is not
JSON), with the first error on one line of standard output; 2 when the
OpenAPI document or the schema name cannot be used.
"""

import datetime
import json
import re
import sys

import jsonschema
import yaml

REF_PREFIX = "#/components/schemas/"

# RFC 3339's date-time (section 5.6): the library checks it only when the
# optional rfc3339-validator package is installed, and Debian's
# python3-jsonschema does not pull it in. So both formats the contract uses
# are checked here, the same way wherever the test runs.
DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def usage_error(message):
    print(f"azion_schema: {message}")
    sys.exit(2)


def is_date_time(value):
    if not isinstance(value, str):
        return True  # formats constrain strings only
    m = DATE_TIME.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    zone = m.group(8)
    if zone not in ("Z", "z") and (int(zone[1:3]) > 23 or int(zone[4:6]) > 59):
        return False
    return True


def is_uuid(value):
    return not isinstance(value, str) or UUID.match(value) is not None


def format_checker():
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(is_date_time)
    checker.checks("uuid")(is_uuid)
    return checker


def strict(node, schemas, seen):
    """A copy of the OpenAPI schema node as a strict JSON schema."""
    if isinstance(node, list):
        return [strict(item, schemas, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
            usage_error(f"cannot resolve $ref {ref!r}: only {REF_PREFIX}NAME")
        name = ref[len(REF_PREFIX) :]
        if name not in schemas:
            usage_error(f"$ref {ref!r} names no schema")
        if name in seen:
            usage_error(f"$ref {ref!r} refers to itself")
        # OpenAPI 3.0 ignores the siblings of a $ref.
        return strict(schemas[name], schemas, seen | {name})
    out = {}
    for key, value in node.items():
        if key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: strict(sub, schemas, seen) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = strict(value, schemas, seen)
        else:
            out[key] = value
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = kind + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    if isinstance(out.get("properties"), dict):
        required = list(out.get("required", []))
        required += [name for name in out["properties"] if name not in required]
        out["required"] = required
    return out


def where(error):
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def main(argv):
    if len(argv) != 3:
        usage_error("usage: azion_schema.py OPENAPI.yaml SCHEMA_NAME < document.json")
    try:
        with open(argv[1], encoding="utf-8") as f:
            openapi = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        usage_error(f"cannot read {argv[1]}: {e}")
    try:
        schemas = openapi["components"]["schemas"]
    except (KeyError, TypeError):
        usage_error(f"{argv[1]} has no components/schemas")
    name = argv[2]
    if name not in schemas:
        usage_error(f"{argv[1]} has no schema {name!r}: it has {', '.join(sorted(schemas))}")
    schema = strict(schemas[name], schemas, {name})

    text = sys.stdin.read()
    try:
        document = json.loads(text)
    except ValueError as e:
        print(f"{name}: not JSON: {e}")
        return 1
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator = validator_class(schema, format_checker=format_checker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        message = " ".join(error.message.split())
        print(f"{name}: {where(error)}: {message}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
