"""A double of CloudWatch Logs Insights for the one query powertuning/cold_rate.py runs.

moto stores log events but cannot run a Logs Insights `stats` query, so this double answers
StartQuery / GetQueryResults as Logs Insights does for `cold_rate.QUERY`, from the events really in
(moto's) log group: it reads them with FilterLogEvents over the query's window and counts the REPORT
records (text `REPORT RequestId:` lines and JSON `platform.report` records) and those among them with
an Init Duration. Results come back as Logs Insights returns them: one row of {field, value} strings,
after one "Running" answer.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.iam_recording import PRINCIPAL


@dataclass
class LogsInsightsDouble:
    """`start_query` and `get_query_results` over a (moto) logs client's events."""

    logs: Any
    status: str = "Complete"
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: int = 0

    def start_query(self, **kwargs: Any) -> dict[str, Any]:
        # Logs Insights reads the group on the service's side: not a call of the caller's role.
        token = PRINCIPAL.set(None)
        try:
            self.logs.describe_log_streams(logGroupName=kwargs["logGroupName"])  # missing group: moto raises
        finally:
            PRINCIPAL.reset(token)
        query_id = str(uuid.uuid4())
        self.queries[query_id] = {**kwargs, "answered": 0}
        return {"queryId": query_id}

    def get_query_results(self, queryId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.polls += 1
        query = self.queries[queryId]
        query["answered"] += 1
        if query["answered"] == 1:
            return {"status": "Running", "results": []}
        if self.status != "Complete":
            return {"status": self.status, "results": []}
        reports = text_cold = json_cold = 0
        for message in self._messages(query):
            if message.startswith("REPORT RequestId:"):
                reports += 1
                text_cold += "Init Duration:" in message
                continue
            try:
                record = json.loads(message)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("type") == "platform.report":
                reports += 1
                json_cold += "initDurationMs" in (record.get("record") or {}).get("metrics", {})
        row = {"reports": reports, "textColdStarts": text_cold, "jsonColdStarts": json_cold}
        return {
            "status": "Complete",
            "results": [[{"field": k, "value": str(v)} for k, v in row.items()]] if reports else [],
        }

    def _messages(self, query: dict[str, Any]) -> list[str]:
        out: list[str] = []
        kwargs = {
            "logGroupName": query["logGroupName"],
            "startTime": query["startTime"] * 1000,
            "endTime": query["endTime"] * 1000,
        }
        while True:
            token = PRINCIPAL.set(None)  # the service's own read, as above
            try:
                page = self.logs.filter_log_events(**kwargs)
            finally:
                PRINCIPAL.reset(token)
            out += [e["message"] for e in page.get("events", [])]
            if not page.get("nextToken"):
                return out
            kwargs["nextToken"] = page["nextToken"]
