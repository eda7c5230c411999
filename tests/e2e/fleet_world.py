"""A fleet world on moto: the tuner (LocalEngine), the fleet functions and the fleet state machine.

moto 5.2.5 parses a Distributed Map with an S3 ItemReader, a ResultWriter and
`states:startExecution.sync:2`, and runs the Map's item processor, but two things need closing:

- its `states:startExecution` integration hands the ASL's parameter names (`StateMachineArn`,
  `Name`, `Input`) to boto3 unchanged, whose StartExecution wants `stateMachineArn`, `name`, `input`,
  and reads `ExecutionArn` from boto3's `executionArn`: every start fails with a KeyError. `_sfn_names`
  maps the names both ways (nothing else of the integration changes: the child is a real execution
  of the tuner state machine, waited for by moto's own sync:2 poller);
- its ResultWriter writes a manifest with no result files (a TODO in moto). `_result_writer` writes
  the files in AWS's documented layout (manifest.json, SUCCEEDED_0.json: a list of executions with
  `Input` and `Output` as JSON strings), from the item processor's outputs moto computed.

Not emulated (moto ignores them, AWS enforces them): MaxConcurrency across a Distributed Map's child
workflows and ToleratedFailurePercentage; the item processor's runs are not separate child executions
in moto, so their history and the parent's MapRun events are moto's, not AWS's.

moto stores log events but cannot run the Logs Insights query of a tuning at a production rate (what
each function of a fleet gets unless told otherwise): the tuner's logs client is
tests/logs_insights.py's double over moto's log groups, which answers as Logs Insights does.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn

from powertuning import asl, aws, deployment, lambda_api
from powertuning.local.engine import LocalEngine, _run_tuner, _zip_placeholder
from tests.logs_insights import LogsInsightsDouble

FLEET_HANDLERS = ("fleet_resolver", "fleet_summary")
FLEET_BUCKET = "powertuning-fleet-results"


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _sfn_names() -> Any:
    service = state_task_service_sfn.StateTaskServiceSfn
    original = service._eval_service_task

    def eval_service_task(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        parameters = {_lower_first(k): v for k, v in normalised_parameters.items()}
        original(self, env, resource_runtime_part, parameters, state_credentials)
        response = env.stack[-1]
        env.stack[-1] = {k[:1].upper() + k[1:]: v for k, v in response.items()}

    original_sync2 = service._build_sync2_resolver

    def build_sync2_resolver(self: Any, *args: Any, **kwargs: Any) -> Any:
        resolve = original_sync2(self, *args, **kwargs)

        def resolver() -> Any:
            described = resolve()
            return None if described is None else {k[:1].upper() + k[1:]: v for k, v in described.items()}

        return resolver

    return _patches(
        mock.patch.object(service, "_eval_service_task", eval_service_task),
        mock.patch.object(service, "_build_sync2_resolver", build_sync2_resolver),
    )


@contextmanager
def _patches(*patchers: Any) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for patcher in patchers:
            stack.enter_context(patcher)
        yield


def _result_writer() -> Any:
    def handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        results = env.stack.pop()
        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        prefix = parameters["Prefix"].rstrip("/") + "/" + record.map_run_arn.split(":")[-1] + "/"
        executions = [
            {
                "ExecutionArn": f"{record.map_run_arn}:{i}",
                "Input": json.dumps({}),
                "Output": json.dumps(r),
                "Status": "SUCCEEDED",
            }
            for i, r in enumerate(results)
        ]
        body = json.dumps(executions).encode()
        s3.put_object(Bucket=parameters["Bucket"], Key=prefix + "SUCCEEDED_0.json", Body=body)
        manifest = {
            "DestinationBucket": parameters["Bucket"],
            "MapRunArn": record.map_run_arn,
            "ResultFiles": {
                "FAILED": [],
                "PENDING": [],
                "SUCCEEDED": [{"Key": prefix + "SUCCEEDED_0.json", "Size": len(body)}],
            },
        }
        s3.put_object(
            Bucket=parameters["Bucket"], Key=prefix + "manifest.json", Body=json.dumps(manifest).encode()
        )
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": prefix + "manifest.json"},
            }
        )

    return mock.patch.object(
        resource_eval_s3.ResourceEvalS3, "_handle_put_object", staticmethod(handle_put_object)
    )


@contextmanager
def fleet_deployed(engine: LocalEngine) -> Iterator[str]:
    """Deploy the fleet functions and state machine into the engine's moto world; yields its ARN."""
    lam = engine.lambda_client
    role = engine._role()
    arns: dict[str, str] = {}
    for name in FLEET_HANDLERS:
        created = lam.create_function(
            FunctionName=f"powertuning-{name}",
            Runtime="python3.13",
            Role=role,
            Handler=f"lambdas.{name}.handler",
            Code={"ZipFile": _zip_placeholder()},
            Timeout=300,
            MemorySize=256,
        )
        arns["".join(p.title() for p in name.split("_")) + "FunctionArn"] = created["FunctionArn"]
    tuner_functions = json.loads(os.environ[deployment.TUNER_FUNCTIONS_ENV]) + sorted(arns.values())
    engine._client("s3").create_bucket(Bucket=FLEET_BUCKET)
    previous: Callable[..., Any] = LambdaFunction._invoke_lambda  # the engine's dispatcher

    def invoke(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        name = fn.function_name.removeprefix("powertuning-")
        if fn.function_name.startswith("powertuning-") and name in FLEET_HANDLERS:
            return _run_tuner(name, json.dumps(event), str(fn.function_arn), float(fn.timeout))
        return previous(fn, event)

    env = {
        deployment.TUNER_FUNCTIONS_ENV: json.dumps(tuner_functions),
        deployment.FLEET_BUCKET_ENV: FLEET_BUCKET,
    }
    definition = asl.render_fleet(
        {
            "FleetResolverFunctionArn": arns["FleetResolverFunctionArn"],
            "FleetSummaryFunctionArn": arns["FleetSummaryFunctionArn"],
            "TunerStateMachineArn": engine.state_machine_arn,
            "ResultsBucketName": FLEET_BUCKET,
            **asl.fleet_integrations("aws"),
            "TunerFunctionArns": ",".join(tuner_functions),
        },
        function_timeout_s=300,
    )
    insights = LogsInsightsDouble(aws.client("logs", engine.region))
    real_client = lambda_api.client

    def client(service: str, region: str | None = None) -> Any:
        return insights if service == "logs" else real_client(service, region)  # type: ignore[call-overload]

    with (
        mock.patch.dict(os.environ, env),
        _sfn_names(),
        _result_writer(),
        mock.patch.object(LambdaFunction, "_invoke_lambda", invoke),
        mock.patch.object(lambda_api, "client", client),
    ):
        yield engine.sfn_client.create_state_machine(
            name="powertuning-fleet", definition=definition, roleArn=role
        )["stateMachineArn"]
