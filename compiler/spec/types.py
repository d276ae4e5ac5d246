"""Value types of the spec: Kubernetes names, quantities, cron, durations, URLs and images.

Each is a `str` with a validator that says, in words, what a valid value looks like.
Numbers are accepted where people naturally write them (`cpu: 1`) and kept as text.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlparse

from croniter import croniter
from pydantic import BaseModel as _PydanticBase
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Service, Rollout and helm release names are DNS-1035 labels: they must start with a letter.
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# The longest suffix Modelplane appends to a model's name is `-train` (the CronWorkflow), and
# Argo Workflows limits a CronWorkflow's name to 52 characters.
MODEL_NAME_MAX = 52 - len("-train")
# Prometheus label names, and the values Modelplane places in PromQL label matchers.
_IDENTIFIER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_CPU = re.compile(r"^(\d+(\.\d+)?|\.\d+)m?$")
_MEMORY = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_DURATION = re.compile(r"^\d+(s|m|h)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
# Istio routing: a host clients call (DNS-1123 subdomain), a gateway (<namespace>/<name>), a header.
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_GW_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_GATEWAY = re.compile(rf"^({_GW_LABEL}/)?{_GW_LABEL}$")
_HEADER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HEADER_VALUE = re.compile(r"^[!-~]([ -~]*[!-~])?$")
_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MEMORY_FACTORS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


class SpecModel(_PydanticBase):
    """Base of every spec object: camelCase keys, unknown keys rejected, no silent coercion."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        allow_inf_nan=False,
    )


def _number_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_dns_label(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a name (a string), got {value!r}")
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' is not a valid Kubernetes name: use at most 63 lower-case letters, digits"
            " and '-', starting and ending with a letter or digit"
        )
    return value


def _check_model_name(value: Any) -> str:
    _check_dns_label(value)
    if not _DNS_1035.match(value):
        raise ValueError(
            f"'{value}' cannot name a model: Service and Rollout names (DNS-1035) must start with a letter"
        )
    if len(value) > MODEL_NAME_MAX:
        raise ValueError(
            f"'{value}' is {len(value)} characters; a model name may have at most {MODEL_NAME_MAX}"
            f" (its CronWorkflow '{value}-train' must fit Argo's 52)"
        )
    return value


def _check_identifier(value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a metric or attribute name: use letters, digits and _, starting with a letter or _"
        )
    return value


def _check_cpu(value: Any) -> str:
    if not isinstance(value, str) or not _CPU.match(value):
        raise ValueError(f"'{value}' is not a CPU quantity: write cores like 1 or 0.5, or millicores like 500m")
    if cpu_millicores(value) <= 0:
        raise ValueError("a CPU quantity must be greater than 0")
    return value


def _check_memory(value: Any) -> str:
    if not isinstance(value, str) or not _MEMORY.match(value):
        raise ValueError(f"'{value}' is not a memory quantity: write bytes with a unit, like 512Mi or 2Gi")
    if memory_bytes(value) <= 0:
        raise ValueError("a memory quantity must be greater than 0")
    return value


def _check_cron(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a cron schedule (a string such as '0 2 * * *')")
    if value in _CRON_DESCRIPTORS:
        return value
    if len(value.split()) != 5 or not _valid_cron(value):
        raise ValueError(
            f"'{value}' is not a cron schedule: use five fields (minute hour day month weekday)"
            " like '0 2 * * *', or @daily / @hourly"
        )
    return value


@functools.lru_cache(maxsize=1024)
def _valid_cron(schedule: str) -> bool:
    """croniter's check, remembered: every model is validated once per environment, and most share schedules."""
    return bool(croniter.is_valid(schedule))


def _check_duration(value: Any) -> str:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f"'{value}' is not a duration: write a whole number with s, m or h, like 30s or 10m")
    return value


def _check_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a URL (a string)")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


def _check_image(value: Any) -> str:
    if not isinstance(value, str) or not _IMAGE.match(value):
        raise ValueError(
            f"'{value}' is not a container image reference: write registry/repository:tag"
            " or registry/repository@sha256:<64 hex digits>"
        )
    return value


def _check_env_name(value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name: use letters, digits and _, not starting with a digit"
        )
    return value


def _check_host(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 253 or not _SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a host name: use lower-case DNS labels joined by dots, like churn.models.acme.example"
        )
    return value


def _check_gateway(value: Any) -> str:
    if not isinstance(value, str) or not _GATEWAY.match(value):
        raise ValueError(f"{value!r} is not an Istio gateway: write <namespace>/<name> or <name> (DNS labels)")
    return value


def _check_header(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 128 or not _HEADER.match(value):
        raise ValueError(f"{value!r} is not a header name Istio matches: use lower-case letters, digits and '-'")
    return value


def _check_header_value(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 256 or not _HEADER_VALUE.match(value):
        raise ValueError(f"{value!r} is not a header value: printable ASCII, no leading or trailing space")
    return value


def _string_type(check: Any, description: str, pattern: str | None = None) -> Any:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if pattern:
        schema["pattern"] = pattern
    return Annotated[str, BeforeValidator(check), WithJsonSchema(schema)]


def _quantity_type(check: Any, description: str, pattern: str) -> Any:
    schema = {"anyOf": [{"type": "string", "pattern": pattern}, {"type": "number", "exclusiveMinimum": 0}]}
    schema["description"] = description  # type: ignore[assignment]
    return Annotated[str, BeforeValidator(lambda v: check(_number_to_text(v))), WithJsonSchema(schema)]


Name = _string_type(_check_dns_label, "Kubernetes DNS-1123 label", _DNS_LABEL.pattern)
CpuQuantity = _quantity_type(_check_cpu, "CPU: cores (1, 0.5) or millicores (500m)", _CPU.pattern)
MemoryQuantity = _quantity_type(_check_memory, "memory: bytes with a unit (512Mi, 2Gi)", _MEMORY.pattern)
Cron = _string_type(_check_cron, "cron schedule: five fields, or @daily/@hourly/...")
Duration = _string_type(_check_duration, "duration: 30s, 10m, 1h", _DURATION.pattern)
Url = _string_type(_check_url, "http(s) URL")
Image = _string_type(_check_image, "container image: registry/repo:tag or registry/repo@sha256:digest")
EnvVarName = _string_type(_check_env_name, "environment variable name (C identifier)", _ENV_NAME.pattern)
ModelName = _string_type(
    _check_model_name, f"model name: DNS-1035 label of at most {MODEL_NAME_MAX} characters", _DNS_1035.pattern
)
Identifier = _string_type(_check_identifier, "metric or attribute name (Prometheus identifier)", _IDENTIFIER.pattern)
Host = _string_type(_check_host, "DNS host name (lower-case labels joined by dots)", _SUBDOMAIN.pattern)
Gateway = _string_type(_check_gateway, "Istio gateway: <namespace>/<name> or <name>", _GATEWAY.pattern)
HeaderName = _string_type(_check_header, "HTTP header name, lower case", _HEADER.pattern)
HeaderValue = _string_type(_check_header_value, "HTTP header value (printable ASCII)", _HEADER_VALUE.pattern)
Ratio = Annotated[float, Field(ge=0, le=1)]


def cpu_millicores(value: str) -> int:
    """`500m` -> 500, `1.5` -> 1500."""
    try:
        if value.endswith("m"):
            return int(Decimal(value[:-1]))
        return int(Decimal(value) * 1000)
    except InvalidOperation as exc:
        raise ValueError(f"not a CPU quantity: {value}") from exc


def memory_bytes(value: str) -> int:
    """`2Gi` -> 2147483648, `500M` -> 500000000."""
    match = _MEMORY.match(value)
    if not match:
        raise ValueError(f"not a memory quantity: {value}")
    return int(Decimal(match.group(1)) * _MEMORY_FACTORS[match.group(3) or ""])
