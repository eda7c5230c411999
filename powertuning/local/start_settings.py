"""How a function starts, which moto 5.2 does not keep: SnapStart and provisioned concurrency.

The tuner reads both with a cold-start rate (powertuning/cold_rate.py), so moto must answer as
Lambda does:
- SnapStart: CreateFunction and UpdateFunctionConfiguration keep `SnapStart.ApplyOn`, and
  GetFunctionConfiguration returns it, with `OptimizationStatus` "On" on a published version of a
  function that applies it ("Off" on $LATEST, which never restores from a snapshot); moto always
  answers `{"ApplyOn": "None", "OptimizationStatus": "Off"}`;
- provisioned concurrency: Put/Get/Delete ProvisionedConcurrencyConfig and
  ListProvisionedConcurrencyConfigs on an alias or version (moto has no route for them and answers
  404). The configuration is kept, nothing is provisioned: local mode runs every invocation on demand.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, unquote, urlparse

from moto.awslambda import urls
from moto.awslambda.models import LambdaFunction

_SNAP = "_powertuning_snap_start"
# (account, region, function name) -> {qualifier: requested provisioned concurrency}.
_provisioned: dict[tuple[str, str, str], dict[str, int]] = {}
_lock = threading.Lock()


def _init(original: Any) -> Any:
    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original(self, account_id, spec, *args, **kwargs)
        setattr(self, _SNAP, str((spec.get("SnapStart") or {}).get("ApplyOn", "None")))

    return init


def _update_configuration(original: Any) -> Any:
    def update(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "SnapStart" in config_updates:
            setattr(self, _SNAP, str((config_updates["SnapStart"] or {}).get("ApplyOn", "None")))
        return dict(original(self, config_updates))

    return update


def _get_configuration(original: Any) -> Any:
    def get(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        config = dict(original(self, on_create))
        apply_on = getattr(self, _SNAP, "None")
        published = str(self.version) != "$LATEST"
        optimized = apply_on == "PublishedVersions" and published
        config["SnapStart"] = {"ApplyOn": apply_on, "OptimizationStatus": "On" if optimized else "Off"}
        return config

    return get


def _where(full_url: str) -> tuple[str, str, str, dict[str, list[str]]]:
    parsed = urlparse(full_url)
    region = parsed.netloc.split(".")[1]
    function = unquote(parsed.path.split("/functions/", 1)[1].split("/", 1)[0])
    parts = function.split(":")
    account = parts[4] if len(parts) >= 7 else "123456789012"
    name = parts[6] if len(parts) >= 7 else function
    return account, region, name, parse_qs(parsed.query)


def _not_found(message: str) -> tuple[int, dict[str, str], str]:
    body = {"Type": "User", "message": message}
    return 404, {"x-amzn-errortype": "ProvisionedConcurrencyConfigNotFoundException"}, json.dumps(body)


def _provisioned_concurrency(request: Any, full_url: str, _headers: Any) -> tuple[int, dict[str, str], str]:
    account, region, name, query = _where(full_url)
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    with _lock:
        configs = _provisioned.setdefault((account, region, name), {})
        if "List" in query:
            items = [
                {
                    "FunctionArn": f"{arn}:{qualifier}",
                    "RequestedProvisionedConcurrentExecutions": count,
                    "AllocatedProvisionedConcurrentExecutions": count,
                    "AvailableProvisionedConcurrentExecutions": count,
                    "Status": "READY",
                }
                for qualifier, count in sorted(configs.items())
            ]
            return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": items})
        qualifier = query.get("Qualifier", [""])[0]
        if request.method == "PUT":
            body = json.loads(request.get_data() or b"{}")
            configs[qualifier] = int(body["ProvisionedConcurrentExecutions"])
            count = configs[qualifier]
            return 202, {}, json.dumps({"RequestedProvisionedConcurrentExecutions": count, "Status": "READY"})
        if qualifier not in configs:
            return _not_found(f"No Provisioned Concurrency Config found for function: {arn}:{qualifier}")
        if request.method == "DELETE":
            del configs[qualifier]
            return 204, {}, ""
        count = configs[qualifier]
        return 200, {}, json.dumps({"RequestedProvisionedConcurrentExecutions": count, "Status": "READY"})


_ROUTE = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"


@contextmanager
def start_settings() -> Iterator[None]:
    """moto keeping SnapStart and provisioned concurrency, for as long as the context lasts."""
    with (
        mock.patch.object(LambdaFunction, "__init__", _init(LambdaFunction.__init__)),
        mock.patch.object(
            LambdaFunction, "update_configuration", _update_configuration(LambdaFunction.update_configuration)
        ),
        mock.patch.object(
            LambdaFunction, "get_configuration", _get_configuration(LambdaFunction.get_configuration)
        ),
        mock.patch.dict(urls.url_paths, {_ROUTE: _provisioned_concurrency}),
    ):
        try:
            yield
        finally:
            with _lock:
                _provisioned.clear()
