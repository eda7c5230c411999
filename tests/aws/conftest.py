"""The real-account tier's target: moto in server mode always; a real account only when asked.

`make test-aws` sets POWERTUNING_TEST_AWS=1: then the tests run against a scratch stack deployed to
the account and region of boto3's default credential chain (and are skipped, saying why, when
there are none). Plain `pytest` runs the same tests against moto in server mode and shows the
real-account ones as skipped with the reason, so the tier cannot rot unseen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import powertuning.aws
from tests.aws.targets import AccountTarget, MotoTarget, Target, credentials_missing

REAL_ACCOUNT = "POWERTUNING_TEST_AWS"


@pytest.fixture(scope="module", params=["moto-server", "aws-account"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The tuner deployed to a scratch stack, destroyed when the module's tests are done."""
    deployed: Target
    if request.param == "aws-account":
        if os.environ.get(REAL_ACCOUNT) != "1":
            pytest.skip(f"real-account tier: deploys to AWS and costs money; run it with make test-aws "
                        f"({REAL_ACCOUNT}=1)")  # fmt: skip
        missing = credentials_missing()
        if missing:
            pytest.skip(f"real-account tier: {missing}")
        deployed = AccountTarget()
    else:
        deployed = MotoTarget()
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "moto-server":
            # Backoff sleeps of the handlers in this process only (the real account's are AWS's).
            patch.setattr(powertuning.aws, "sleep", lambda _s: None)
        try:
            deployed.deploy()
            yield deployed
        finally:
            deployed.destroy()
