"""Rules of real AWS that moto 5.2 does not keep, applied to moto.

A cleanup that looks right on moto could leave a stray version on AWS, so the local engine and the
tests run moto with these rules:
- StopExecution makes the execution ABORTED at once, as on AWS, even while a Task's Lambda call is
  still running (moto waits for the call to return, and fails a Map it stops with States.Runtime);
- version numbers only grow: a deleted version's number is never given again (moto reuses them);
- a version an alias points to cannot be deleted (ResourceConflictException; moto deletes it);
- (a moto bug, not a rule) a Lambda task scheduled while a failed Map winds down can record the
  state as its `timeoutInSeconds`, and then no history can be read: such a field is dropped;
- ListVersionsByFunction and ListAliases accept a function ARN as well as a name (moto reads
  only a name from the URL);
- UpdateFunctionCode with Architectures changes the function's architecture (moto ignores it);
- a container image's CodeSha256 is its digest, so an image deployed by digest (`repo@sha256:<hex>`)
  has CodeSha256 `<hex>`, and ResolvedImageUri names that digest (moto hashes the URI string and
  appends a digest to one already given by digest); moto's stand-in digest for an image by tag stays;
- UpdateFunctionCode refuses a multi-architecture image (an image index): Lambda runs only images
  built for one architecture. moto reads no manifest, so the tests declare an index with
  `image_index`; every other image counts as a single-architecture one;
- ListFunctions, ListVersionsByFunction and ListAliases return at most 50 items a page (fewer
  with MaxItems) and a NextMarker to read the next one, as Lambda does (moto returns every item at
  once, so a caller that reads only the first page would look right on moto and miss items on AWS);
- GetFunction's Code.Location is a link the function's package can be downloaded from, valid for
  10 minutes (moto's points at a bucket that does not exist): here a link that
  `powertuning.aws.function_code.open_url` resolves to the package moto holds;
- SnapStart and provisioned concurrency are kept and read back (start_settings.py).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, LambdaStorage
from moto.awslambda.responses import LambdaResponse
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

from powertuning.aws import function_code
from powertuning.local.start_settings import start_settings


class _VersionInUseError(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


def _publish_version(self: LambdaStorage, name_or_arn: str, description: str = "") -> LambdaFunction | None:
    function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
    name = function.function_name
    entry = self._functions.get(name)
    if not entry or not entry["latest"]:
        return None
    versions = entry["versions"]
    if versions and not function.code_or_config_updated:
        # Nothing changed since the last version: Lambda returns that version.
        return versions[-1]
    function.code_or_config_updated = False
    counters: dict[str, int] = self.__dict__.setdefault("_highest_version", {})
    number = max(counters.get(name, 0), max((int(v.version) for v in versions), default=0)) + 1
    counters[name] = number
    published = copy.copy(entry["latest"])
    published.set_version(number)
    if description:
        published.description = description
    versions.append(published)
    self._arns[published.function_arn] = published
    return published


_original_del_function = LambdaStorage.del_function
_original_list_versions = LambdaStorage.list_versions_by_function
_original_list_aliases = LambdaStorage.list_aliases


def _del_function(self: LambdaStorage, name_or_arn: str, qualifier: str | None = None) -> None:
    if qualifier and qualifier.isdigit():
        function = self.get_function_by_name_or_arn_with_qualifier(name_or_arn, qualifier)
        for alias in self._get_function_aliases(function.function_name).values():
            if str(alias.function_version) == qualifier:
                raise _VersionInUseError(
                    f"Unable to delete version {qualifier} because the alias {alias.name} points to it"
                )
    _original_del_function(self, name_or_arn, qualifier)


def _name(name_or_arn: str) -> str:
    # moto passes the URL path segment on undecoded: arn%3Aaws%3Alambda...
    name = unquote(name_or_arn)
    return name.split(":")[6] if name.startswith("arn:") else name


def _list_versions(self: LambdaStorage, name: str) -> Any:
    return _original_list_versions(self, _name(name))


def _list_aliases(self: LambdaStorage, name: str) -> Any:
    return _original_list_aliases(self, _name(name))


_original_update_code = LambdaFunction.update_function_code
_original_set_code = LambdaFunction._set_function_code
# The digests (hex) of images declared multi-architecture indexes.
_indexes: set[str] = set()


def image_digest(uri: str) -> str:
    """The digest moto gives an image: the one in a URI by digest, else its stand-in for a tag."""
    if "@sha256:" in uri:
        return uri.rpartition("@sha256:")[2]
    return hashlib.sha256(uri.encode()).hexdigest()


def image_index(uri: str) -> None:
    """Declare an image (by tag or digest) a multi-architecture index, as its manifest would."""
    _indexes.add(image_digest(uri))


def _set_function_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> None:
    _original_set_code(self, updated_spec)
    uri = str(updated_spec.get("ImageUri", ""))
    if "@sha256:" in uri and not updated_spec.get("DryRun"):
        self.code_sha_256 = image_digest(uri)


_original_get_code = LambdaFunction.get_code
# Code.Location token -> the package it downloads (real links expire; these last as long as moto).
_packages: dict[str, bytes] = {}
_packages_lock = threading.Lock()


def _update_function_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> dict[str, Any]:
    uri = updated_spec.get("ImageUri")
    if uri and image_digest(str(uri)) in _indexes:
        # Nothing changes: Lambda reads the manifest before it takes the update.
        raise LambdaClientError(
            "InvalidParameterValueException",
            f"The image manifest or layer media type for the source image {uri} is not supported.",
        )
    if "Architectures" in updated_spec:
        self.architectures = list(updated_spec["Architectures"])
    return dict(_original_update_code(self, updated_spec))


def _get_code(self: LambdaFunction) -> dict[str, Any]:
    response = dict(_original_get_code(self))
    if response.get("Code", {}).get("RepositoryType") == "S3":
        token = uuid.uuid4().hex
        with _packages_lock:
            _packages[token] = bytes(self.code_bytes)
        host = f"awslambda-{self.region}-tasks.s3.{self.region}.amazonaws.com"
        response["Code"] = {
            "RepositoryType": "S3",
            "Location": f"https://{host}/snapshots/{self.account_id}/{self.function_name}?token={token}",
        }
    elif response.get("Code", {}).get("RepositoryType") == "ECR":
        # The repository without its tag or digest (a registry host holds no ":" in ECR).
        host, _, path = str(self.code["ImageUri"]).partition("@")[0].partition("/")
        response["Code"]["ResolvedImageUri"] = f"{host}/{path.partition(':')[0]}@sha256:{self.code_sha_256}"
    return response


def _open_url(url: str, _timeout_s: float) -> Any:
    token = url.rpartition("?token=")[2]
    with _packages_lock:
        package = _packages.get(token)
    if package is None:
        raise ValueError(f"no package behind {url}")
    return io.BytesIO(package)


_original_stop = Execution.stop
_original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status


def _stop(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
    _original_stop(self, stop_date=stop_date, error=error, cause=cause)
    self.exec_status = ExecutionStatus.ABORTED
    self.stop_date = stop_date


def _reflect(self: BaseExecutionWorkerCommunication) -> None:
    if self.execution.exec_status == ExecutionStatus.ABORTED:
        return
    _original_reflect(self)


_original_add_event = EventManager.add_event


def _add_event(
    self: EventManager, context: Any, event_type: Any, event_details: Any = None, **kwargs: Any
) -> int:
    for details in (event_details or {}).values():
        if isinstance(details, dict) and not isinstance(details.get("timeoutInSeconds", 0), int):
            del details["timeoutInSeconds"]
    return int(_original_add_event(self, context, event_type, event_details, **kwargs))


# Lambda's documented page size for its List* calls ("a maximum of 50 items in each response").
PAGE_SIZE = 50


def _paged(original: Any, key: str) -> Any:
    """A LambdaResponse listing that returns one page of `key` from its Marker, and a NextMarker."""

    def listing(self: LambdaResponse) -> Any:
        answer = original(self)
        status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
        document = json.loads(body)
        marker = self.querystring.get("Marker", [""])[0]
        start = int(marker) if marker.isdigit() else 0
        size = min(PAGE_SIZE, int(self.querystring.get("MaxItems", [PAGE_SIZE])[0]))
        items = document[key]
        document[key] = items[start : start + size]
        if start + size < len(items):
            document["NextMarker"] = str(start + size)
        return status, headers, json.dumps(document)

    return listing


@contextmanager
def real_aws_rules() -> Iterator[None]:
    """moto with the rules above, for as long as the context lasts."""
    with (
        mock.patch.object(LambdaStorage, "publish_version", _publish_version),
        mock.patch.object(LambdaStorage, "del_function", _del_function),
        mock.patch.object(LambdaStorage, "list_versions_by_function", _list_versions),
        mock.patch.object(LambdaStorage, "list_aliases", _list_aliases),
        mock.patch.object(Execution, "stop", _stop),
        mock.patch.object(EventManager, "add_event", _add_event),
        mock.patch.object(BaseExecutionWorkerCommunication, "_reflect_execution_status", _reflect),
        mock.patch.object(LambdaFunction, "update_function_code", _update_function_code),
        mock.patch.object(LambdaFunction, "get_code", _get_code),
        mock.patch.object(LambdaFunction, "_set_function_code", _set_function_code),
        mock.patch.object(function_code, "open_url", _open_url),
        mock.patch.object(
            LambdaResponse, "list_functions", _paged(LambdaResponse.list_functions, "Functions")
        ),
        mock.patch.object(
            LambdaResponse,
            "list_versions_by_function",
            _paged(LambdaResponse.list_versions_by_function, "Versions"),
        ),
        mock.patch.object(LambdaResponse, "list_aliases", _paged(LambdaResponse.list_aliases, "Aliases")),
        start_settings(),
    ):
        try:
            yield
        finally:
            _indexes.clear()
