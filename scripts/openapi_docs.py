"""Write the API reference of the registry and the matcher (markdown pages and the raw OpenAPI
JSON) into docs/reference/, from the apps themselves, so the reference never drifts from the
code. Usage: python scripts/openapi_docs.py [OUT_DIR]."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stopframe.apps.matcher.app import create_app as create_matcher_app
from stopframe.apps.matcher.service import MatchService
from stopframe.apps.registry.app import create_app as create_registry_app
from stopframe.config import MatcherSettings, RegistrySettings

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "reference"
METHODS = ("get", "post", "put", "patch", "delete")
Spec = dict[str, Any]

SERVICES: dict[str, str] = {
    "registry": (
        "The registry's HTTP API, served by `stopframe serve`. Which routes need an API key, "
        "which scope and the case PIN is told in "
        "[the registry page](../registry.md#api-all-under-v1)."
    ),
    "matcher": (
        "The platform matcher's HTTP API, served by `stopframe matcher serve`. Every `/v1` route "
        "needs `Authorization: Bearer sfm_...`: the `match` scope for `/v1/match/*`, `admin` for "
        "`/v1/admin/*`; health and metrics need none "
        "(see [the matcher page](../matcher.md#the-api))."
    ),
}


def registry_spec(work: Path) -> Spec:
    """The registry's OpenAPI document, from an app over an empty SQLite file."""
    settings = RegistrySettings(data_dir=work / "registry", database_url=f"sqlite:///{work}/r.db")
    return create_registry_app(settings).openapi()


def matcher_spec(work: Path) -> Spec:
    """The matcher's OpenAPI document, from an app over an empty data folder."""
    service = MatchService(MatcherSettings(matcher_data_dir=work / "matcher"), hooks=[])
    try:
        return create_matcher_app(service=service).openapi()
    finally:
        service.close()


def cell(text: object) -> str:
    """Text made safe for one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def schema_name(schema: Spec) -> str:
    """A short name for a schema: its component name, or its type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    for combiner in ("anyOf", "oneOf", "allOf"):
        if combiner in schema:
            return " or ".join(schema_name(part) for part in schema[combiner])
    if schema.get("type") == "array":
        return f"array of {schema_name(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    return f"`{schema.get('type', 'any')}`"


def security(operation: Spec) -> str:
    """The operation's authentication as the document states it, scopes included."""
    requirements = operation.get("security")
    if not requirements:
        return "none"
    stated = []
    for requirement in requirements:
        for scheme, scopes in requirement.items():
            stated.append(f"`{scheme}`" + (f" ({', '.join(scopes)})" if scopes else ""))
    return ", ".join(stated)


def operation_lines(method: str, path: str, operation: Spec) -> Iterator[str]:
    """The markdown section of one operation."""
    yield f"### `{method.upper()} {path}`"
    yield ""
    description = " ".join(operation.get("description", "").split())
    yield f"**{operation.get('summary', '')}**. {description}"
    yield ""
    yield f"Declared security: {security(operation)} (see the top of this page)."
    yield ""
    parameters = operation.get("parameters", [])
    if parameters:
        yield "| parameter | in | required | type | description |"
        yield "|---|---|---|---|---|"
        for parameter in parameters:
            yield (
                f"| `{parameter['name']}` | {parameter['in']} | "
                f"{'yes' if parameter.get('required') else 'no'} | "
                f"{schema_name(parameter.get('schema', {}))} | "
                f"{cell(parameter.get('description', ''))} |"
            )
        yield ""
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        bodies = ", ".join(
            f"`{kind}` {schema_name(body.get('schema', {}))}" for kind, body in content.items()
        )
        yield f"Request body: {bodies}."
        yield ""
    yield "| response | description | body |"
    yield "|---|---|---|"
    for status, response in operation.get("responses", {}).items():
        bodies = response.get("content", {})
        body = ", ".join(schema_name(item.get("schema", {})) for item in bodies.values())
        yield f"| {status} | {cell(response.get('description', ''))} | {body} |"
    yield ""


def schema_lines(name: str, schema: Spec) -> Iterator[str]:
    """The markdown section of one component schema: its fields, or its values."""
    yield f"### {name}"
    yield ""
    if schema.get("description"):
        yield " ".join(schema["description"].split())
        yield ""
    if "enum" in schema:
        yield "One of " + ", ".join(f"`{value}`" for value in schema["enum"]) + "."
        yield ""
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        yield "| field | type | required | description |"
        yield "|---|---|---|---|"
        for field, spec in properties.items():
            yield (
                f"| `{field}` | {schema_name(spec)} | {'yes' if field in required else 'no'} | "
                f"{cell(spec.get('description', ''))} |"
            )
        yield ""


def page(service: str, spec: Spec) -> str:
    """The whole markdown reference page of one service."""
    intro = SERVICES[service]
    info = spec["info"]
    lines = [
        f"# {info['title']} API reference",
        "",
        "<!-- Generated by scripts/openapi_docs.py from the app's OpenAPI document: "
        "do not edit. -->",
        "",
        f"{' '.join(info.get('description', '').split())}",
        "",
        f"{intro} The raw document: [{service}-openapi.json]({service}-openapi.json) "
        f"(OpenAPI {spec['openapi']}; the running service serves it at `/v1/openapi.json`).",
        "",
        "## Operations",
        "",
    ]
    for path, operations in spec["paths"].items():
        for method in METHODS:
            if method in operations:
                lines.extend(operation_lines(method, path, operations[method]))
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name in sorted(schemas):
            lines.extend(schema_lines(name, schemas[name]))
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path) -> list[Path]:
    """Write each service's page and JSON into `out`; returns the files written."""
    builders: dict[str, Callable[[Path], Spec]] = {
        "registry": registry_spec,
        "matcher": matcher_spec,
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as work:
        for service, build in builders.items():
            spec = build(Path(work))
            raw = out / f"{service}-openapi.json"
            raw.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            markdown = out / f"{service}.md"
            markdown.write_text(page(service, spec), encoding="utf-8")
            written += [markdown, raw]
    return written


def main() -> None:
    """Command-line entry point: regenerate the reference and name the files written."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for path in write(out):
        print(path)


if __name__ == "__main__":
    main()
