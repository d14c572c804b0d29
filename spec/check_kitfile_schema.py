#!/usr/bin/env python3
"""Check Kitfiles against spec/kitfile.schema.json without third-party validators.

Usage: python3 spec/check_kitfile_schema.py KITFILE [KITFILE ...]
       python3 spec/check_kitfile_schema.py --self-test

Implements the subset of JSON Schema draft 2020-12 that the schema uses: type,
properties, additionalProperties, required, items, pattern, minLength, maxLength,
not, allOf, anyOf, $ref (local "#/$defs/..."), if/then, dependentRequired, enum,
const. Patterns use `re.search` with ASCII `\\w`, matching ECMA-262 and Go.

YAML is read with PyYAML's BaseLoader, which keeps every scalar a string. That mirrors
upstream kit (yaml.v3 into Go string fields accepts `version: 1.0`); values inside
`parameters` are free-form, so their types do not matter here. A `.json` file is read
as JSON instead. Exit status: 0 all valid, 1 some invalid, 2 usage or load error.
"""

import json
import re
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "kitfile.schema.json"

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(root, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def validate(value, schema, root, path="$"):
    """Return a list of 'path: message' strings (empty when valid)."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: no value allowed here"]
    errs = []
    if "$ref" in schema:
        errs += validate(value, resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return errs + [f"{path}: expected {'/'.join(types)}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        errs.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: must be one of {schema['enum']!r}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value, re.ASCII):
            errs.append(f"{path}: {value!r} does not match /{schema['pattern']}/")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append(f"{path}: longer than {schema['maxLength']} characters")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errs.append(f"{path}: missing required key {key!r}")
        props = schema.get("properties", {})
        for key, sub in value.items():
            if key in props:
                errs += validate(sub, props[key], root, f"{path}.{key}")
            elif "additionalProperties" in schema:
                ap = schema["additionalProperties"]
                if ap is False:
                    errs.append(f"{path}: unknown key {key!r}")
                else:
                    errs += validate(sub, ap, root, f"{path}.{key}")
        for key, needed in schema.get("dependentRequired", {}).items():
            if key in value:
                for n in needed:
                    if n not in value:
                        errs.append(f"{path}: {key!r} requires {n!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errs += validate(item, schema["items"], root, f"{path}[{i}]")
    for sub in schema.get("allOf", []):
        errs += validate(value, sub, root, path)
    if "anyOf" in schema:
        if all(validate(value, sub, root, path) for sub in schema["anyOf"]):
            errs.append(f"{path}: matches none of the allowed forms")
    if "not" in schema and not validate(value, schema["not"], root, path):
        errs.append(f"{path}: {value!r} is not allowed ({schema['not'].get('pattern', 'not')})")
    if "if" in schema and not validate(value, schema["if"], root, path):
        if "then" in schema:
            errs += validate(value, schema["then"], root, path)
    elif "if" in schema and "else" in schema:
        errs += validate(value, schema["else"], root, path)
    return errs


def load_kitfile(path):
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        return json.loads(text)
    return load_yaml(text)


def load_yaml(text):
    try:
        import yaml
    except ImportError:
        sys.exit("check_kitfile_schema.py: PyYAML is needed to read YAML Kitfiles (or pass a .json file)")
    data = yaml.load(text, Loader=yaml.BaseLoader)
    return {} if data is None else data


SELF_TEST = [
    # (expected valid?, Kitfile YAML); messages quoted from upstream validation vectors
    (True, "manifestVersion: 1.0.0\npackage: {name: x, authors: [a, b]}\nmodel: {path: m, parts: [{path: m/t, type: tokenizer}], parameters: {a: [1, {b: c}]}}\n"),
    (True, "manifestVersion: 1.0.0\nmodel:\n  path: docker.io/kit-org/kit-repo:latest\n"),
    (True, "manifestVersion: 1.0.0\ndatasets:\n  - path: some/local/path\n    remotePath: s3://mybucket/mykey\n    remoteHash: testhash\n"),
    (True, "manifestVersion: 1.0.0\ndatasets:\n  - path: data/train\n    remotePath: docker.io/kit-org/kit-repo:latest\n"),
    (True, "manifestVersion: 1.0.0\nmcpServers:\n  - name: filesystem\n    path: filesystem.mcpb\n"),
    (True, "manifestVersion: 1.0.0\nprompts:\n  - path: ./skills/personal/\n    name: personal\n"),
    (False, "manifestVersion: 1.0.0\nmodel:\n  path: test-path\n  parts:\n    - path: part-path\n      type: contains a space\n"),
    (False, "manifestVersion: 1.0.0\nmodel:\n  path: test-path\n  parts:\n    - path: part-path\n      type: valid-otherwise-but-waaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay-too-long\n"),
    (False, "manifestVersion: 1.0.0\nmcpServers:\n  - path: filesystem.mcpb\n"),
    (False, "manifestVersion: 1.0.0\nmcpServers:\n  - name: filesystem\n    path: filesystem.zip\n"),
    (False, "manifestVersion: 1.0.0\ndatasets:\n  - path: some/local/path\n    remotePath: s3://mybucket/mykey\n"),
    (False, "manifestVersion: 1.0.0\ndatasets:\n  - path: some/local/path\n    remotePath: mybucket.s3.us-east-2.amazonaws.com\n    remoteHash: testhash\n"),
    (False, "manifestVersion: 1.0.0\ndatasets:\n  - path: some/local/path\n    remoteHash: testhash\n"),
    (False, "manifestVersion: 1.0.0\ncode:\n  - path: https://example.com\n"),
    (False, "manifestVersion: 1.0.0\nmodel:\n  path: s3://test-s3/key\n"),
    (False, "manifestVersion: 1.0.0\nprompts:\n  - path: /tmp/skills/personal/\n"),
    (False, "manifestVersion: 1.0.0\nmodel:\n  path: m\n  digest: sha256:abc\n"),
    (False, "manifestVersion: 1.0.0\nextra: true\n"),
]


def main(argv):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if argv == ["--self-test"]:
        failed = 0
        for i, (want, text) in enumerate(SELF_TEST):
            errs = validate(load_yaml(text), schema, schema)
            if (not errs) != want:
                failed += 1
                print(f"self-test case {i}: expected {'valid' if want else 'invalid'}, got {errs or 'valid'}")
        print(f"self-test: {len(SELF_TEST) - failed}/{len(SELF_TEST)} cases as expected")
        return 1 if failed else 0
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    status = 0
    for arg in argv:
        try:
            doc = load_kitfile(arg)
        except (OSError, ValueError) as e:
            print(f"{arg}: cannot load: {e}")
            status = max(status, 2)
            continue
        errs = validate(doc, schema, schema)
        if errs:
            status = max(status, 1)
            print(f"{arg}: INVALID")
            for e in errs:
                print(f"  {e}")
        else:
            print(f"{arg}: valid")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
